//! `strata compile`: compiles every function of a module with a JIT tier and reports code
//! sizes and compile speed; `--disasm` prints each function's machine code. `--print-ir`
//! prints the SSA of the optimizing tier (strata-ir) instead.

use std::process::ExitCode;
use std::time::Instant;
use strata::BoundsChecks;
use strata_tiers::baseline::BaselineModule;
use strata_tiers::jit::disasm;

/// Compile a module without running it.
#[derive(clap::Args, Debug)]
pub struct CompileArgs {
    #[command(flatten)]
    pub engine: crate::EngineArgs,
    /// Print the disassembly of every function.
    #[arg(long)]
    pub disasm: bool,
    /// Print each function's SSA IR: as translated (`before`) or after the optimizing
    /// pipeline (`after`), with each pass's statistics.
    #[arg(long, value_enum)]
    pub print_ir: Option<IrStage>,
    /// With --print-ir: only this function (its name or function index).
    #[arg(long)]
    pub func: Option<String>,
    /// Compile this many times and report the best time (compile-speed measurements).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// The module (.wasm or .wat).
    pub file: String,
}

/// Which IR `--print-ir` shows.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrStage {
    Before,
    After,
}

/// Why `strata compile` failed, with its exit status (those of `strata run`): 2 for a bad
/// command line (options, tier, unreadable file), 1 for a module that does not compile.
struct Failure {
    status: u8,
    message: String,
}

impl From<String> for Failure {
    /// A failure of the compilation itself.
    fn from(message: String) -> Failure {
        Failure {
            status: crate::run::ERROR_EXIT,
            message,
        }
    }
}

fn usage(message: impl std::fmt::Display) -> Failure {
    Failure {
        status: crate::run::USAGE_EXIT,
        message: message.to_string(),
    }
}

/// The JIT tiers `strata compile` can compile with, lowest first; the default is the best
/// of them this build has.
const COMPILE_TIERS: [strata::Tier; 2] = [strata::Tier::Baseline, strata::Tier::Opt];

/// The engine the options describe, defaulting to the best JIT tier.
fn engine(args: &CompileArgs) -> Result<strata::Engine, Failure> {
    let best = COMPILE_TIERS
        .into_iter()
        .rev()
        .find(|t| t.is_available())
        .unwrap_or(strata::Tier::Baseline);
    let config = args.engine.config_or(best).map_err(usage)?;
    strata::Engine::new(config).map_err(usage)
}

fn read_module(engine: &strata::Engine, file: &str) -> Result<strata::Module, Failure> {
    let bytes = crate::read_input(file).map_err(|e| usage(format!("cannot read {file}: {e}")))?;
    Ok(strata::Module::new(engine, &bytes).map_err(|e| e.to_string())?)
}

pub fn main(args: CompileArgs) -> ExitCode {
    let result = if args.print_ir.is_some() {
        print_ir(args)
    } else {
        run(args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}

fn run(args: CompileArgs) -> Result<(), Failure> {
    let engine = engine(&args)?;
    if !COMPILE_TIERS.contains(&engine.config().tier) {
        return Err(usage(format!(
            "strata compile supports --tier baseline or opt only, not {}",
            engine.config().tier
        )));
    }
    if engine.config().tier == strata::Tier::Opt {
        return run_opt(&args, &engine);
    }
    let bounds: BoundsChecks = engine.config().bounds_checks;
    let module = read_module(&engine, &args.file)?;
    let env = module.env();
    let mut best = f64::INFINITY;
    let mut compiled = None;
    for _ in 0..args.repeat.max(1) {
        let start = Instant::now();
        let m = BaselineModule::compile(env, bounds)?;
        best = best.min(start.elapsed().as_secs_f64());
        compiled = Some(m);
    }
    let Some(compiled) = compiled else {
        return Err("nothing compiled".to_string().into());
    };
    for d in 0..compiled.num_functions() {
        let fi = env.num_imported_funcs + d as u32;
        let name = env
            .func_name(fi)
            .map(|n| format!(" <{n}>"))
            .unwrap_or_default();
        let code = compiled.function_code(d as u32);
        let body = &env.bodies[d].range;
        println!(
            "func {fi}{name} (wasm {:#x}..{:#x}, code {:#x}): {} bytes of wasm, {} bytes of code",
            body.start,
            body.end,
            compiled.entry(d as u32) as usize,
            body.len(),
            code.len()
        );
        if args.disasm {
            print!(
                "{}",
                disasm::disassemble(code, compiled.entry(d as u32) as u64)
            );
        }
    }
    let wasm = env.code_section_bytes;
    println!(
        "total: {} functions, {wasm} bytes of code section, {} bytes of machine code, {:.3} ms, {:.1} MB/s",
        compiled.num_functions(),
        compiled.code_size(),
        best * 1e3,
        wasm as f64 / best / 1e6
    );
    Ok(())
}

/// `--tier opt`: every function through the optimizing tier (IR, mid-end, regalloc2,
/// emission), without publishing. Functions it cannot compile yet are listed with the
/// reason (at run time they keep the baseline's code).
fn run_opt(args: &CompileArgs, engine: &strata::Engine) -> Result<(), Failure> {
    let bounds: BoundsChecks = engine.config().bounds_checks;
    let module = read_module(engine, &args.file)?;
    let env = module.env();
    let mut best = f64::INFINITY;
    let mut results = Vec::new();
    for _ in 0..args.repeat.max(1) {
        let start = Instant::now();
        results = (0..env.num_defined_funcs() as u32)
            .map(|d| strata_tiers::opt::function_code(env, d, bounds))
            .collect();
        best = best.min(start.elapsed().as_secs_f64());
    }
    // The IR half alone (translation, cleanup, mid-end), to split the time.
    let start = Instant::now();
    for d in 0..env.num_defined_funcs() as u32 {
        let _ = strata_tiers::opt::build_ir(env, d);
    }
    let ir_time = start.elapsed().as_secs_f64();
    let (mut ok, mut size) = (0usize, 0usize);
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for (d, r) in results.iter().enumerate() {
        let fi = env.num_imported_funcs + d as u32;
        let name = env
            .func_name(fi)
            .map(|n| format!(" <{n}>"))
            .unwrap_or_default();
        let body = &env.bodies[d].range;
        match r {
            Ok(code) => {
                ok += 1;
                size += code.len();
                // Not published: addresses are offsets in the function's own code.
                println!(
                    "func {fi}{name} (wasm {:#x}..{:#x}, code 0x0 unpublished): {} bytes of wasm, {} bytes of code",
                    body.start,
                    body.end,
                    body.len(),
                    code.len()
                );
                if args.disasm {
                    print!("{}", disasm::disassemble(code, 0));
                }
            }
            Err(e) => {
                println!("func {fi}{name}: not compiled by opt: {e}");
                *reasons.entry(e.clone()).or_default() += 1;
            }
        }
    }
    for (e, n) in &reasons {
        println!("not compiled ({n} functions): {e}");
    }
    let wasm = env.code_section_bytes;
    println!(
        "total: {ok} of {} functions compiled, {wasm} bytes of code section, {size} bytes of machine code, {:.3} ms, {:.2} MB/s",
        results.len(),
        best * 1e3,
        wasm as f64 / best / 1e6
    );
    println!(
        "of which the IR pipeline (translation, cleanup, mid-end) {:.3} ms, the back end (lowering, regalloc2, emission) {:.3} ms",
        ir_time * 1e3,
        (best - ir_time).max(0.0) * 1e3
    );
    Ok(())
}

/// `--print-ir`: translates every defined function (or the one `--func` names) to SSA,
/// runs the pipeline for `after`, and prints the IR with per-pass statistics as comments.
fn print_ir(args: CompileArgs) -> Result<(), Failure> {
    use strata_ir::passes::{default_pipeline, run_pipeline, VERIFY_BY_DEFAULT};
    let stage = args.print_ir.unwrap_or(IrStage::Before);
    let engine = engine(&args)?;
    let module = read_module(&engine, &args.file)?;
    let env = module.env();
    let mut translator = strata_ir::Translator::new();
    let pipeline = default_pipeline();
    let midend = strata_ir::egraph::MidendConfig::parse(&args.engine.egraph)?;
    let mut found = false;
    let mut out = String::new();
    let start = Instant::now();
    for d in 0..env.num_defined_funcs() {
        let fi = env.num_imported_funcs + d as u32;
        if let Some(want) = &args.func {
            if env.func_name(fi) != Some(want.as_str()) && *want != fi.to_string() {
                continue;
            }
        }
        found = true;
        let mut f = translator
            .translate(env, d)
            .map_err(|e| format!("function {fi}: {e}"))?;
        if VERIFY_BY_DEFAULT {
            strata_ir::verify(&f).map_err(|e| format!("function {fi}: {e}"))?;
        }
        if stage == IrStage::After {
            let stats = run_pipeline(&mut f, &pipeline, VERIFY_BY_DEFAULT)?;
            for s in stats {
                out.push_str(&format!(
                    "; pass {}: {} -> {} instructions, {:.1} us\n",
                    s.name,
                    s.insts_before,
                    s.insts_after,
                    s.nanos as f64 / 1e3
                ));
                for n in s.notes {
                    out.push_str(&format!(";   {n}\n"));
                }
            }
            let before = f.num_live_insts();
            let t = Instant::now();
            let stats = strata_ir::egraph::optimize(&mut f, &midend);
            let us = t.elapsed().as_secs_f64() * 1e6;
            if VERIFY_BY_DEFAULT {
                strata_ir::verify(&f)
                    .map_err(|e| format!("function {fi} after the mid-end: {e}"))?;
            }
            out.push_str(&format!(
                "; mid-end: {before} -> {} instructions, {us:.1} us\n",
                f.num_live_insts()
            ));
            for line in stats.to_string().lines() {
                out.push_str(&format!(";   {line}\n"));
            }
        }
        out.push_str(&format!("; func {fi}\n"));
        strata_ir::write_function(&mut out, &f);
        out.push('\n');
    }
    let elapsed = start.elapsed().as_secs_f64();
    if !found {
        return Err(match &args.func {
            Some(name) => usage(format!("no defined function named {name}")),
            None => "the module defines no function".to_string().into(),
        });
    }
    print!("{out}");
    if args.func.is_none() {
        let wasm = env.code_section_bytes;
        println!(
            "; total: {} functions, {wasm} bytes of code section, {:.3} ms including printing",
            env.num_defined_funcs(),
            elapsed * 1e3
        );
    }
    Ok(())
}
