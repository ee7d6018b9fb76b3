//! `strata compile --print-ir before|after FILE [--func NAME]`: the optimizing tier's SSA of
//! each function, as translated or after the mid-end, with what the passes did.

use std::time::Instant;
use strata_ir::passes::Pipeline;
use strata_ir::translate_function;

/// Which SSA to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// As translated from wasm, before any pass.
    Before,
    /// After the mid-end's passes.
    After,
}

/// Prints the SSA of the functions of the module in `file` (all, or the one named `func` by
/// name or function index).
pub fn print(file: &str, stage: Stage, func: Option<&str>) -> Result<(), String> {
    let bytes = crate::read_input(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let module = strata::Module::new(&strata::Engine::default(), &bytes)
        .map_err(|e| format!("{file}: {e}"))?;
    let env = module.env();
    let mut found = false;
    for def in 0..env.num_defined_funcs() {
        let index = env.num_imported_funcs + def as u32;
        if let Some(want) = func {
            let by_name = env.func_name(index) == Some(want);
            if !by_name && want.parse::<u32>().ok() != Some(index) {
                continue;
            }
        }
        found = true;
        let start = Instant::now();
        let mut f = translate_function(env, def).map_err(|e| format!("function {index}: {e}"))?;
        let translated = start.elapsed();
        let before = f.num_insts();
        if stage == Stage::After {
            Pipeline { verify: true }
                .run(&mut f)
                .map_err(|e| format!("function {index}: {e}"))?;
        }
        println!(
            "; function {index}: {} bytes of wasm, {before} instructions translated in {:.1} us, \
             {} after; {} OSR entries",
            env.bodies[def].range.len(),
            translated.as_secs_f64() * 1e6,
            f.num_insts(),
            f.osr_entries.len()
        );
        print!("{f}");
    }
    match (found, func) {
        (false, Some(name)) => Err(format!("{file} has no defined function `{name}`")),
        _ => Ok(()),
    }
}
