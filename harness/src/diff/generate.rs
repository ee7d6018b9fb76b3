//! Generated modules: wasm-smith restricted to what Strata implements (WebAssembly 2.0 with
//! SIMD in half of the modules, with multi-memory, memory64, tail calls and exception
//! handling, two tables, no imports; a third of them with their direct calls through typed
//! function references, [`super::typed_refs`]), every item exported so that the final state is
//! observable, NaNs canonicalized so that memory and v128 values can be compared bit-exact,
//! and `ensure_termination` so that every call ends.
//!
//! NaN canonicalization is wasm-smith's: after every float operation whose NaN payload wasm
//! leaves open (scalar and f32x4/f64x2 arithmetic, min/max, rounding, sqrt) the result's NaN
//! lanes are replaced by the canonical NaN, and [`super::canon`] does the same after the
//! float conversions (demote, promote); bit operations, moves, loads and stores are left
//! alone, since wasm fixes their bits.

use super::compare::Case;
use super::plan::Rng;
use arbitrary::Unstructured;
use wasm_smith::{Config, Module};

/// Fuel of `ensure_termination`: loop iterations and function entries per call. The fuel
/// global is exported as [`FUEL_EXPORT`] and every side sets it back to this value before
/// each call (see [`super::plan::Plan::fuel`]), so that one looping call does not leave the
/// later calls without fuel.
pub const FUEL: u32 = 1_000;

/// The export name given to the fuel global of generated modules.
pub const FUEL_EXPORT: &str = "__fuel";

/// Rounds of calls in a generated case.
pub const ROUNDS: usize = 2;

/// The wasm-smith configuration for differential cases.
pub fn smith_config() -> Config {
    Config {
        // Strata's features: WebAssembly 2.0, plus extended constants, multi-memory,
        // memory64, tail calls and exception handling (off for the wasmi oracle, which has
        // none: `generate_for`). SIMD is chosen per module by `generate`; relaxed SIMD is
        // left out.
        simd_enabled: true,
        relaxed_simd_enabled: false,
        gc_enabled: false,
        exceptions_enabled: true,
        memory64_enabled: true,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        tail_call_enabled: true,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: true,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        multibyte_array_access_enabled: false,
        acquire_release_atomics_enabled: false,
        max_memories: 3,
        max_tables: 2,
        // Observable and bounded.
        export_everything: true,
        max_imports: 0,
        min_types: 1,
        min_funcs: 1,
        max_funcs: 20,
        max_instructions: 200,
        max_memory32_bytes: 4 << 16,
        max_memory64_bytes: 4 << 16,
        memory_max_size_required: true,
        max_table_elements: 1_000,
        table_max_size_required: true,
        max_data_segments: 10,
        max_element_segments: 10,
        canonicalize_nans: true,
        allow_start_export: true,
        ..Config::default()
    }
}

/// A differential case from fuzzer bytes: a module from wasm-smith and the seed of its
/// arguments from the bytes after it. As in wasmtime's differential fuzzing, nine modules in
/// ten are generated without traps (wasm-smith guards divisions, conversions and accesses),
/// so that calls run deep instead of stopping at the first random trap; the tenth may trap
/// anywhere. Half of the modules may use SIMD: with it on, wasm-smith spends most of its
/// choices on the ~230 SIMD instructions, so the other half keeps the scalar ones dense.
/// `None` when the bytes cannot make a module.
pub fn generate(data: &[u8]) -> Option<Case> {
    generate_for(data, true)
}

/// Which generated modules may use SIMD (`strata fuzz --simd`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SimdChoice {
    /// Half of the modules, chosen by the input (the default: see [`generate`]).
    #[default]
    Half,
    /// Every module (a campaign aimed at the SIMD paths of every side).
    Always,
    /// None.
    Never,
}

/// What a generated module may contain beyond [`smith_config`]'s fixed choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// Exception handling (off for a peer oracle without it, which must be able to run
    /// every module).
    pub exceptions: bool,
    pub simd: SimdChoice,
}

/// [`generate`], with exception handling only if `exceptions`.
pub fn generate_for(data: &[u8], exceptions: bool) -> Option<Case> {
    generate_with(
        data,
        Features {
            exceptions,
            simd: SimdChoice::Half,
        },
    )
}

/// [`generate`] with the given [`Features`].
pub fn generate_with(data: &[u8], features: Features) -> Option<Case> {
    let exceptions = features.exceptions;
    let mut u = Unstructured::new(data);
    let mut config = smith_config();
    config.exceptions_enabled = exceptions;
    config.disallow_traps = u.int_in_range(0..=9u8).ok()? != 0;
    // The byte is taken in every mode, so that `half` sees the same input it always did.
    let half = u.arbitrary::<bool>().ok()?;
    config.simd_enabled = match features.simd {
        SimdChoice::Half => half,
        SimdChoice::Always => true,
        SimdChoice::Never => false,
    };
    let mut module = Module::new(config, &mut u).ok()?;
    let fuel_global = module.ensure_termination(FUEL).ok()?;
    let seed = u.arbitrary::<u64>().unwrap_or(0);
    let wasm = add_global_export(&module.to_bytes(), FUEL_EXPORT, fuel_global)?;
    let wasm = super::canon::canonicalize_conversions(&wasm).unwrap_or(wasm);
    // Typed function references in a third of the modules (chosen by the input's length, so
    // the others are what they always were), when every side runs them (not with the wasmi
    // oracle, which gets the modules made without exception handling): the direct calls go
    // through `(ref $t)` values (`super::typed_refs`).
    let wasm = if exceptions && data.len().is_multiple_of(3) {
        super::typed_refs::typed_references(&wasm)
            .filter(|w| strata::validate(w).is_ok())
            .unwrap_or(wasm)
    } else {
        wasm
    };
    Some(Case {
        wasm,
        seed,
        rounds: ROUNDS,
    })
}

/// A differential case from a seed (quick mode and `strata fuzz`): random bytes, then
/// [`generate`]. Some seeds give no module; the next size is tried then.
pub fn generate_from_seed(seed: u64) -> Case {
    generate_from_seed_for(seed, true)
}

/// [`generate_from_seed`], with exception handling only if `exceptions`.
pub fn generate_from_seed_for(seed: u64, exceptions: bool) -> Case {
    generate_from_seed_with(
        seed,
        Features {
            exceptions,
            simd: SimdChoice::Half,
        },
    )
}

/// [`generate_from_seed`] with the given [`Features`].
pub fn generate_from_seed_with(seed: u64, features: Features) -> Case {
    let mut rng = Rng::new(seed);
    let mut len = 1024 + rng.below(8 * 1024) as usize;
    loop {
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes);
        if let Some(case) = generate_with(&bytes, features) {
            return case;
        }
        len *= 2;
    }
}

/// Whether `wasm` (a valid module) uses SIMD: it does exactly when it is not valid without
/// the SIMD features. The campaign counts these modules.
pub fn uses_simd(wasm: &[u8]) -> bool {
    use wasmparser::{Validator, WasmFeatures};
    let without = WasmFeatures::all() - WasmFeatures::SIMD - WasmFeatures::RELAXED_SIMD;
    Validator::new_with_features(without)
        .validate_all(wasm)
        .is_err()
}

/// `wasm` with one more export, of global `index` under `name`, or `None` if the section
/// structure is not what wasm-smith writes.
pub fn add_global_export(wasm: &[u8], name: &str, index: u32) -> Option<Vec<u8>> {
    let mut entry = Vec::new();
    write_leb(&mut entry, name.len() as u32);
    entry.extend_from_slice(name.as_bytes());
    entry.push(0x03); // global
    write_leb(&mut entry, index);

    let mut out = wasm.get(..8)?.to_vec();
    let mut pos = 8;
    let mut done = false;
    while pos < wasm.len() {
        let id = wasm[pos];
        let (size, n) = read_leb(wasm.get(pos + 1..)?)?;
        let body = wasm.get(pos + 1 + n..pos + 1 + n + size as usize)?;
        // Known sections come in id order, custom sections (0) anywhere: the exports go in
        // before the first known section after them if there is no export section.
        if !done && matches!(id, 8..=12) {
            append_section(&mut out, 7, &[&[1u8][..], &entry].concat());
            done = true;
        }
        if id == 7 {
            let (count, m) = read_leb(body)?;
            let mut new_body = Vec::new();
            write_leb(&mut new_body, count + 1);
            new_body.extend_from_slice(&body[m..]);
            new_body.extend_from_slice(&entry);
            append_section(&mut out, 7, &new_body);
            done = true;
        } else {
            out.extend_from_slice(&wasm[pos..pos + 1 + n + size as usize]);
        }
        pos += 1 + n + size as usize;
    }
    if !done {
        append_section(&mut out, 7, &[&[1u8][..], &entry].concat());
    }
    Some(out)
}

fn append_section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
    out.push(id);
    write_leb(out, body.len() as u32);
    out.extend_from_slice(body);
}

fn write_leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn read_leb(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_modules_are_valid_and_export_their_fuel() {
        for seed in 0..20 {
            let case = generate_from_seed(seed);
            strata::validate(&case.wasm).unwrap();
            let engine = strata::Engine::default();
            let module = strata::Module::new(&engine, &case.wasm).unwrap();
            assert!(module.exports().iter().any(|e| e.name == FUEL_EXPORT));
        }
    }

    /// The fuzzer reaches memory64 and table64 on every tier: some generated modules have
    /// a 64-bit memory or table, and the optimizing tier compiles their functions itself.
    /// Modules without exception handling (the peer-oracle variant), which the optimizing
    /// tier does not run yet.
    #[test]
    fn some_generated_modules_have_64_bit_memories_and_tables_the_optimizing_tier_compiles() {
        let engine = strata::Engine::default();
        let (mut mem64, mut table64, mut compiled, mut refused) = (0, 0, 0, Vec::new());
        for seed in 0..100 {
            let case = generate_from_seed_for(seed, false);
            let module = strata::Module::new(&engine, &case.wasm).unwrap();
            let env = module.env();
            let m64 = env.memories.iter().any(|m| m.memory64);
            let t64 = env.tables.iter().any(|t| t.ty.table64);
            mem64 += usize::from(m64);
            table64 += usize::from(t64);
            if !(m64 || t64) {
                continue;
            }
            for d in 0..env.num_defined_funcs() as u32 {
                let bounds = strata::BoundsChecks::Explicit;
                match strata_tiers::opt::function_code(env, d, bounds) {
                    Ok(_) => compiled += 1,
                    Err(e) => refused.push(format!("seed {seed}: function {d}: {e}")),
                }
            }
        }
        assert!(refused.is_empty(), "{}", refused.join("\n"));
        // Seeds 0..100: 32 modules with a 64-bit memory, 29 with a 64-bit table, 58 of
        // their functions compiled.
        assert!(
            mem64 >= 10 && table64 >= 10 && compiled >= 40,
            "{mem64} modules with a 64-bit memory, {table64} with a 64-bit table, \
             {compiled} of their functions compiled by the optimizing tier"
        );
    }

    #[test]
    fn some_generated_modules_use_typed_function_references() {
        use wasmparser::Operator as O;
        let (mut typed, mut ops) = (0, 0);
        const SEEDS: u64 = 300;
        for seed in 0..SEEDS {
            let case = generate_from_seed(seed);
            strata::validate(&case.wasm).unwrap();
            let mut uses = false;
            for payload in wasmparser::Parser::new(0).parse_all(&case.wasm) {
                let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
                    continue;
                };
                for op in body.get_operators_reader().unwrap() {
                    if matches!(
                        op.unwrap(),
                        O::CallRef { .. }
                            | O::ReturnCallRef { .. }
                            | O::RefAsNonNull
                            | O::BrOnNull { .. }
                            | O::BrOnNonNull { .. }
                    ) {
                        ops += 1;
                        uses = true;
                    }
                }
            }
            typed += usize::from(uses);
        }
        println!("{typed} of {SEEDS} modules use typed function references ({ops} operators)");
        assert!(typed >= 10, "only {typed} of {SEEDS} modules");
    }

    #[test]
    fn export_is_added_without_an_export_section() {
        let wasm = wat::parse_str("(module (global (mut i32) (i32.const 5)) (func))").unwrap();
        let out = add_global_export(&wasm, "f", 0).unwrap();
        strata::validate(&out).unwrap();
        let module = strata::Module::new(&strata::Engine::default(), &out).unwrap();
        assert_eq!(module.exports()[0].name, "f");
    }
}
