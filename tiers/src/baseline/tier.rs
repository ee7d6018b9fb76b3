//! The baseline as a compiling tier of tiered execution (`crate::tier::CompilerTier`): one
//! function, or a batch of a module's waiting functions sharing one mapping, with an OSR
//! entry per loop.

use super::FuncCode;
use crate::tier::{install, CompileInfo, CompilerTier, Installed};
use std::sync::Arc;
use strata_vm::tiering::LEVEL_BASELINE;
use strata_vm::{BoundsChecks, Module, Trap};

pub struct BaselineTier;

impl CompilerTier for BaselineTier {
    fn level(&self) -> u8 {
        LEVEL_BASELINE
    }

    fn name(&self) -> &'static str {
        "baseline"
    }

    fn compile(
        &self,
        module: &Module,
        def_index: u32,
        bounds: BoundsChecks,
    ) -> Result<CompileInfo, String> {
        self.compile_counting(module, def_index, bounds, false)
    }

    fn compile_counting(
        &self,
        module: &Module,
        def_index: u32,
        bounds: BoundsChecks,
        counting: bool,
    ) -> Result<CompileInfo, String> {
        let code = FuncCode::compile(module, def_index, bounds, counting)?;
        install_code(module, def_index, code)
    }

    fn compile_batch(
        &self,
        module: &Module,
        defs: &[u32],
        bounds: BoundsChecks,
        counting: bool,
    ) -> Vec<Result<CompileInfo, String>> {
        match FuncCode::compile_batch(module, defs, bounds, counting) {
            Ok(codes) => defs
                .iter()
                .zip(codes)
                .map(|(&d, code)| install_code(module, d, code))
                .collect(),
            // Which function failed, and why, is each one's own result.
            Err(_) => defs
                .iter()
                .map(|&d| self.compile_counting(module, d, bounds, counting))
                .collect(),
        }
    }

    /// About 0.3 ms of compiling at the baseline's speed: small against the interpreter
    /// time a backlog costs, and enough functions of a module of many small ones (large.wasm
    /// averages 350 bytes) to take the per-mapping kernel work out of the compile time.
    fn batch_bytes(&self) -> usize {
        16 * 1024
    }

    fn compile_module(&self, module: &Module, bounds: BoundsChecks) -> Result<(), Trap> {
        super::BaselineModule::of(module, bounds).map(|_| ())
    }
}

/// Installs one compiled function in its code slot and the registry.
fn install_code(module: &Module, def_index: u32, code: FuncCode) -> Result<CompileInfo, String> {
    let code = Arc::new(code);
    let osr: Box<[Option<*const u8>]> = (0..code.num_loops()).map(|l| code.osr_entry(l)).collect();
    let info = CompileInfo {
        code_size: code.code_size(),
        osr_entries: osr.iter().flatten().count(),
    };
    install(
        module,
        def_index,
        Installed::new(
            LEVEL_BASELINE,
            code.entry(),
            osr,
            code.frame_cells(),
            code.code_size(),
            code,
        ),
    )?;
    Ok(info)
}
