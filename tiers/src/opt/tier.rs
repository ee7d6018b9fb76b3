//! The optimizing tier as a `CompilerTier` (`LEVEL_OPT`).

use super::OptCode;
use crate::tier::{install, CompileInfo, CompilerTier, Installed};
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
