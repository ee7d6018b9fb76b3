//! `strata-peer-wasmi`: runs a WASI program (or an exported function) on wasmi, linked as a
//! library, so `strata bench` can compare against it with the same phases Strata reports.
//!
//! ```text
//! strata-peer-wasmi [--eager|--lazy] [--phase-times] [--compile-only] [--invoke NAME] prog.wasm ARGS...
//! ```
//!
//! * `--eager` / `--lazy`: wasmi's `CompilationMode::Eager` (validate and translate every
//!   function up front) or `CompilationMode::Lazy` (both on first call). Default: lazy.
//! * `--phase-times`: print `phase-times compile_ns=.. instantiate_ns=.. execute_ns=..` to
//!   stderr when the program ends (also when it ends with `proc_exit`).
//! * `--compile-only`: only compile (`Module::new`), print `phase-times compile_ns=..` to stderr.
//! * `--invoke NAME`: call export NAME with ARGS parsed by its parameter types, print each
//!   result on its own line; otherwise run WASI `_start` with `prog.wasm ARGS...` as argv.
//!
//! The call-depth and value-stack limits are raised well above wasmi's defaults (1000 frames)
//! so that programs that recurse a few thousand frames deep run as they do elsewhere.
//!
//! stdio is inherited; the exit status is the program's (`proc_exit`), 0 when `_start`
//! returns, 1 on a trap or error, 2 on a bad command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use wasmi::{CompilationMode, Config, Engine, Instance, Module, Store, Val, ValType};
use wasmi_wasi::{WasiCtx, WasiCtxBuilder};

/// Call depth limit: like a native 8 MiB stack, rather than wasmi's default of 1000.
const RECURSION_DEPTH: usize = 100_000;
/// Value-stack limit in bytes (wasmi's default is 1 MB).
const STACK_HEIGHT: usize = 256 << 20;

struct Options {
    mode: CompilationMode,
    phase_times: bool,
    compile_only: bool,
    invoke: Option<String>,
    wasm: PathBuf,
    args: Vec<String>,
}

const USAGE: &str = "usage: strata-peer-wasmi [--eager|--lazy] [--phase-times] [--compile-only] \
                     [--invoke NAME] prog.wasm ARGS...";

fn parse_options() -> Result<Options, String> {
    let mut mode = CompilationMode::Lazy;
    let mut phase_times = false;
    let mut compile_only = false;
    let mut invoke = None;
    let mut it = std::env::args().skip(1);
    let wasm = loop {
        let arg = it.next().ok_or("missing the .wasm file")?;
        match arg.as_str() {
            "--eager" => mode = CompilationMode::Eager,
            "--lazy" => mode = CompilationMode::Lazy,
            "--phase-times" => phase_times = true,
            "--compile-only" => compile_only = true,
            "--invoke" => invoke = Some(it.next().ok_or("--invoke needs a function name")?),
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with("--") => return Err(format!("unknown option `{s}`")),
            _ => break PathBuf::from(arg),
        }
    };
    Ok(Options {
        mode,
        phase_times,
        compile_only,
        invoke,
        wasm,
        args: it.collect(),
    })
}

/// Phase times in nanoseconds, printed on stderr for `strata bench --phase`.
#[derive(Default)]
struct Phases {
    compile: u128,
    instantiate: u128,
    execute: u128,
}

impl Phases {
    fn print(&self) {
        eprintln!(
            "phase-times compile_ns={} instantiate_ns={} execute_ns={}",
            self.compile, self.instantiate, self.execute
        );
    }
}

fn main() -> ExitCode {
    let opts = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("strata-peer-wasmi: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("strata-peer-wasmi: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<u8, String> {
    let bytes = std::fs::read(&opts.wasm)
        .map_err(|e| format!("cannot read {}: {e}", opts.wasm.display()))?;
    let mut config = Config::default();
    config.compilation_mode(opts.mode);
    // Fixed-width SIMD (cargo feature `simd`), for the SIMD benchmarks.
    config.wasm_simd(true);
    // wasmi's defaults (1000 frames, 1 MB value stack) are far below the native stack depth
    // the other engines allow; the benchmark programs recurse a few thousand frames deep.
    config.set_max_recursion_depth(RECURSION_DEPTH);
    config.set_max_stack_height(STACK_HEIGHT);
    let engine = Engine::new(&config);

    let mut phases = Phases::default();
    let t = Instant::now();
    let module = Module::new(&engine, &bytes[..]).map_err(|e| format!("compile error: {e}"))?;
    phases.compile = t.elapsed().as_nanos();
    if opts.compile_only {
        eprintln!("phase-times compile_ns={}", phases.compile);
        return Ok(0);
    }

    let t = Instant::now();
    let wasi = wasi_ctx(opts)?;
    let mut store = Store::new(&engine, wasi);
    let mut externals = Vec::new();
    wasmi_wasi::add_to_externals(&mut store, &module, &mut externals, |ctx| ctx)
        .map_err(|e| format!("cannot link WASI: {e}"))?;
    let instance = Instance::new(&mut store, &module, &externals)
        .map_err(|e| format!("instantiation failed: {e}"))?;
    phases.instantiate = t.elapsed().as_nanos();

    let name = opts.invoke.as_deref().unwrap_or("_start");
    let func = instance
        .get_func(&store, name)
        .ok_or_else(|| format!("no exported function `{name}`"))?;
    let ty = func.ty(&store);
    let params = if opts.invoke.is_some() {
        parse_params(ty.params(), &opts.args)?
    } else {
        Vec::new()
    };
    let mut results: Vec<Val> = ty
        .results()
        .iter()
        .map(|t| Val::default_for_ty(*t))
        .collect();

    let t = Instant::now();
    let outcome = func.call(&mut store, &params, &mut results);
    phases.execute = t.elapsed().as_nanos();
    if opts.phase_times {
        phases.print();
    }
    match outcome {
        Ok(()) => {
            for r in &results {
                println!("{}", show(r));
            }
            Ok(0)
        }
        Err(e) => match e.i32_exit_status() {
            // Exit statuses are 0..=255 on the platforms we run on.
            Some(code) => Ok(code as u8),
            None => Err(format!("trap in `{name}`: {e}")),
        },
    }
}

fn wasi_ctx(opts: &Options) -> Result<WasiCtx, String> {
    let mut b = WasiCtxBuilder::new();
    b.inherit_stdio();
    let mut argv = vec![opts.wasm.display().to_string()];
    argv.extend(opts.args.iter().cloned());
    b.args(&argv).map_err(|e| format!("bad arguments: {e}"))?;
    Ok(b.build())
}

fn parse_params(types: &[ValType], args: &[String]) -> Result<Vec<Val>, String> {
    if types.len() != args.len() {
        return Err(format!(
            "the function takes {} argument(s), {} given",
            types.len(),
            args.len()
        ));
    }
    types
        .iter()
        .zip(args)
        .map(|(ty, a)| {
            let bad = |e: &dyn std::fmt::Display| format!("bad argument `{a}`: {e}");
            Ok(match ty {
                ValType::I32 => Val::I32(parse_int(a).map_err(|e| bad(&e))? as i32),
                ValType::I64 => Val::I64(parse_int(a).map_err(|e| bad(&e))? as i64),
                ValType::F32 => Val::F32(a.parse::<f32>().map_err(|e| bad(&e))?.into()),
                ValType::F64 => Val::F64(a.parse::<f64>().map_err(|e| bad(&e))?.into()),
                other => return Err(format!("cannot pass a {other:?} argument")),
            })
        })
        .collect()
}

/// Accepts signed and unsigned decimal integers (wrapped to the parameter's width).
fn parse_int(s: &str) -> Result<i128, std::num::ParseIntError> {
    s.parse::<i128>()
}

fn show(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(x) => f32::from(*x).to_string(),
        Val::F64(x) => f64::from(*x).to_string(),
        other => format!("{other:?}"),
    }
}
