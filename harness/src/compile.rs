//! `strata compile`: compiles every function of a module with a JIT tier and reports code
//! sizes and compile speed; `--disasm` prints each function's machine code.

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
    /// Compile this many times and report the best time (compile-speed measurements).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// The module (.wasm or .wat).
    pub file: String,
}

pub fn main(args: CompileArgs) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: CompileArgs) -> Result<(), String> {
    let engine = args.engine.engine()?;
    if engine.config().tier != strata::Tier::Baseline {
        return Err(format!(
            "strata compile supports --tier baseline only, not {}",
            engine.config().tier
        ));
    }
    let bounds: BoundsChecks = engine.config().bounds_checks;
    let bytes =
        crate::read_input(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file))?;
    let module = strata::Module::new(&engine, &bytes).map_err(|e| e.to_string())?;
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
        return Err("nothing compiled".into());
    };
    for d in 0..compiled.num_functions() {
        let fi = env.num_imported_funcs + d as u32;
        let name = env
            .func_name(fi)
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        let code = compiled.function_code(d as u32);
        println!(
            "func {fi}{name}: {} bytes of wasm, {} bytes of code",
            env.bodies[d].range.len(),
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
