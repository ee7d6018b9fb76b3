//! The optimizing tier as a `CompilerTier` (`LEVEL_OPT`).

use super::OptCode;
use crate::jit::{self, PublishedFunc};
use crate::tier::{install, install_osr_entry, CompileInfo, CompilerTier, Installed, OsrEntry};
use std::sync::Arc;
use strata_vm::tiering::LEVEL_OPT;
use strata_vm::{BoundsChecks, Module, Trap};

pub struct OptTier;

/// Alignment of each function in a whole-module compile's mapping.
const FUNC_ALIGN: usize = 16;

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
                code.clone(),
            )
            .with_reg_entry(code.reg_entry()),
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
    ///
    /// The functions share one mapping, packed at 16-byte boundaries like the baseline's:
    /// a page per function put every entry at the same page offset, so the entries of a
    /// module with thousands of small functions competed for the same instruction-cache
    /// sets and branch-predictor entries, and each took its own TLB entry
    /// (benches/programs/large ran 1.7x slower than the baseline that way).
    fn compile_module(&self, module: &Module, bounds: BoundsChecks) -> Result<(), Trap> {
        crate::baseline::BaselineModule::of(module, bounds)?;
        let mut bytes = Vec::new();
        let mut traps = Vec::new();
        let mut unwind = jit::unwind::UnwindInfo::default();
        let mut wasm_offsets = Vec::new();
        let mut funcs = Vec::new();
        let mut frames = Vec::new();
        for def in 0..module.num_defined_funcs() as u32 {
            if crate::tier::ready_level(module, def) >= LEVEL_OPT {
                continue;
            }
            let Ok(e) = super::compile_bytes(module, def, bounds) else {
                continue;
            };
            bytes.resize(bytes.len().next_multiple_of(FUNC_ALIGN), 0xcc);
            let offset = bytes.len();
            traps.extend(e.traps.iter().map(|&(at, code)| (at + offset as u32, code)));
            unwind.calls.extend(
                e.calls
                    .iter()
                    .map(|&(at, shift)| (at + offset as u32, shift)),
            );
            let rebased = e
                .wasm_offsets
                .iter()
                .map(|&(at, w)| (at + offset as u32, w));
            wasm_offsets.extend(rebased);
            let first_handler = unwind.handlers.len();
            unwind
                .handlers
                .extend(e.handlers.iter().map(|h| jit::unwind::Handler {
                    start: h.start + offset as u32,
                    end: h.end + offset as u32,
                    pad: h.pad + offset as u32,
                    ..*h
                }));
            let end = (offset + e.bytes.len()) as u32;
            unwind.close_function(offset as u32, end, first_handler);
            unwind.add_saves(&e.saves, offset as u32);
            bytes.extend_from_slice(&e.bytes);
            funcs.push(PublishedFunc {
                offset,
                len: e.bytes.len(),
                func_index: module.num_imported_funcs + def,
            });
            frames.push((def, e.frame_cells as usize, e.reg_entry as usize));
        }
        if funcs.is_empty() {
            return Ok(());
        }
        // Code memory that cannot be had leaves the functions on the baseline's code, like
        // a failed compile.
        let published = jit::publish_with_unwind(
            "opt",
            module,
            &bytes,
            bytes.len(),
            traps,
            wasm_offsets,
            &funcs,
            unwind,
        );
        let Ok(code) = published else {
            return Ok(());
        };
        let code = Arc::new(code);
        for (f, (def, frame_cells, reg_entry)) in funcs.iter().zip(frames) {
            let owner: Arc<dyn std::any::Any + Send + Sync> = code.clone();
            let installed = Installed::new(
                LEVEL_OPT,
                code.at(f.offset),
                Box::new([]),
                frame_cells,
                f.len,
                owner,
            )
            .with_reg_entry(code.at(f.offset + reg_entry));
            // Only a foreign registry refuses; the function keeps the baseline's code.
            let _ = install(module, def, installed);
        }
        Ok(())
    }
}
