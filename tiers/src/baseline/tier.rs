//! The baseline as a compiling tier of tiered execution (`crate::tier::CompilerTier`): one
//! function at a time, into a mapping of its own, with an OSR entry per loop.

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
        let code = Arc::new(FuncCode::compile(module, def_index, bounds, counting)?);
        let osr: Box<[Option<*const u8>]> =
            (0..code.num_loops()).map(|l| code.osr_entry(l)).collect();
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

    fn compile_module(&self, module: &Module, bounds: BoundsChecks) -> Result<(), Trap> {
        super::BaselineModule::of(module, bounds).map(|_| ())
    }
}
