//! The optimizing tier as a `CompilerTier` (`LEVEL_OPT`).

use super::OptCode;
use crate::tier::{install, install_osr_entry, CompileInfo, CompilerTier, Installed, OsrEntry};
use std::sync::Arc;
use strata_vm::tiering::LEVEL_OPT;
use strata_vm::{BoundsChecks, Module, Trap};

pub struct OptTier;

impl CompilerTier for OptTier {
    fn level(&self) -> u8 {
        LEVEL_OPT
    }

    fn name(&self) -> &'static str {
        "opt"
    }

    fn compile(
        &self,
        module: &Module,
        def_index: u32,
        bounds: BoundsChecks,
    ) -> Result<CompileInfo, String> {
        let code = Arc::new(OptCode::compile(module, def_index, bounds)?);
        let info = CompileInfo {
            code_size: code.code_size(),
            osr_entries: 0,
        };
        install(
            module,
            def_index,
            Installed::new(
                LEVEL_OPT,
                code.entry(),
                Box::new([]),
                code.frame_cells(),
                code.code_size(),
                code,
            ),
        )?;
        Ok(info)
    }

    fn osr_entries_on_demand(&self) -> bool {
        true
    }

    /// One loop's entry, compiled on its own (`OptCode::compile_osr_entry`).
    fn compile_osr_entry(
        &self,
        module: &Module,
        def_index: u32,
        loop_index: u32,
        bounds: BoundsChecks,
    ) -> Result<CompileInfo, String> {
        let code = Arc::new(OptCode::compile_osr_entry(
            module, def_index, loop_index, bounds,
        )?);
        let entry = OsrEntry {
            entry: code.entry(),
            frame_cells: code.frame_cells(),
            level: LEVEL_OPT,
        };
        let info = CompileInfo {
            code_size: code.code_size(),
            osr_entries: 1,
        };
        install_osr_entry(module, def_index, loop_index, entry, code)?;
        Ok(info)
    }

    /// Every function gets the baseline's code first, then this tier's where it can
    /// compile it (a function with an opcode not lowered yet keeps the baseline's).
    fn compile_module(&self, module: &Module, bounds: BoundsChecks) -> Result<(), Trap> {
        crate::baseline::BaselineModule::of(module, bounds)?;
        for def in 0..module.num_defined_funcs() as u32 {
            if crate::tier::ready_level(module, def) < LEVEL_OPT {
                let _ = self.compile(module, def, bounds);
            }
        }
        Ok(())
    }
}
