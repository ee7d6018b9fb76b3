//! The optimizing tier's IR on generated modules: wasm-smith modules (Strata's features,
//! with imports and larger bodies than the differential cases) translate to SSA, verify,
//! round-trip through the text form and stay valid through the cleanup pipeline and the
//! mid-end (e-graph on and in chaos mode), and the mid-end keeps their meaning in the
//! reference executor (`strata_ir::exec`).

use arbitrary::Unstructured;
use strata_harness::diff::generate::smith_config;
use strata_ir::egraph::{optimize, MidendConfig};
use strata_ir::exec::{run, Env, Outcome};
use strata_ir::passes::{default_pipeline, run_pipeline, split_critical_edges};
use strata_ir::{parse_function, verify, Function, Translator, Type};

/// Runs `reference` and `optimized` on the same inputs; `Err` if they disagree.
fn same_meaning(
    reference: &Function,
    optimized: &Function,
    (pages, globals): (usize, usize),
    seed: u64,
) -> Result<bool, String> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let args: Vec<u64> = reference
        .params
        .iter()
        .map(|t| {
            let r = next();
            let v = if r % 3 == 0 { r >> 52 } else { r };
            match t {
                Type::I32 | Type::F32 => v & 0xffff_ffff,
                Type::I64 | Type::F64 => v,
                _ => 0,
            }
        })
        .collect();
    let env = Env {
        memory: (0..pages * 65536)
            .map(|i| (i * 31 + seed as usize) as u8)
            .collect(),
        max_pages: if pages > 0 { 2 } else { 0 },
        globals: (0..globals).map(|g| g as u64 * 3).collect(),
        calls: Vec::new(),
        fuel: 20_000,
    };
    let (mut e1, mut e2) = (env.clone(), env);
    let r1 = run(reference, &args, &mut e1);
    let r2 = run(optimized, &args, &mut e2);
    if r2 == Outcome::UncheckedOutOfBounds {
        return Err("an access whose check was removed is out of bounds".into());
    }
    let skip = |o: &Outcome| matches!(o, Outcome::OutOfFuel | Outcome::Unsupported(_));
    if skip(&r1) || skip(&r2) {
        return Ok(false);
    }
    if r1 != r2 || e1.memory != e2.memory || e1.globals != e2.globals || e1.calls != e2.calls {
        return Err(format!("args {args:x?}: before {r1:?}, after {r2:?}"));
    }
    Ok(true)
}

/// xorshift64*: deterministic bytes for wasm-smith.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

#[test]
fn generated_modules_translate_and_verify() {
    let mut config = smith_config();
    config.max_imports = 5;
    config.max_instructions = 1000;
    config.export_everything = false;
    // What the IR translates: SIMD, memory64 and exceptions are refused by the optimizing
    // tier (the lower tiers keep such functions), so the generator leaves them out. Tail calls
    // are in (the reference executor logs them as calls and returns their results).
    config.simd_enabled = false;
    config.relaxed_simd_enabled = false;
    config.memory64_enabled = false;
    config.tail_call_enabled = true;
    config.exceptions_enabled = false;
    let (mut modules, mut functions, mut compared) = (0, 0, 0);
    let mut t = Translator::new();
    let engine = strata::Engine::default();
    // STRATA_IR_SMITH_SEEDS=N runs a longer campaign (the default keeps `cargo test` fast).
    let seeds: u64 = std::env::var("STRATA_IR_SMITH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    for seed in 0..seeds {
        let data = bytes(seed, 16 << 10);
        let mut u = Unstructured::new(&data);
        let Ok(m) = wasm_smith::Module::new(config.clone(), &mut u) else {
            continue;
        };
        let wasm = m.to_bytes();
        let module = strata::Module::new(&engine, &wasm)
            .unwrap_or_else(|e| panic!("seed {seed}: strata rejects a generated module: {e}"));
        let module = module.env();
        modules += 1;
        for i in 0..module.num_defined_funcs() {
            // On a failure the module is left in the temporary directory to look at.
            let dump = std::env::temp_dir().join(format!("ir_smith_{seed}.wasm"));
            let at = format!("seed {seed} function {i} ({})", dump.display());
            let _ = std::fs::write(&dump, &wasm);
            let mut f = t
                .translate(module, i)
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            verify(&f).unwrap_or_else(|e| panic!("{at}: {e}\n{f}"));
            let text = f.to_string();
            let parsed = parse_function(&text).unwrap_or_else(|e| panic!("{at}: {e}\n{text}"));
            assert_eq!(parsed.to_string(), text, "{at}");
            run_pipeline(&mut f, &default_pipeline(), true).unwrap_or_else(|e| panic!("{at}: {e}"));
            for cfg in [MidendConfig::default(), MidendConfig::chaos(seed)] {
                let mut g = f.clone();
                optimize(&mut g, &cfg);
                verify(&g).unwrap_or_else(|e| panic!("{at}: after the mid-end: {e}\n{f}\n{g}"));
                let shape = (
                    module
                        .memories
                        .first()
                        .map_or(0, |m| m.limits.min.min(1) as usize),
                    module.num_imported_globals as usize + module.globals.len(),
                );
                match same_meaning(&f, &g, shape, seed) {
                    Ok(true) => compared += 1,
                    Ok(false) => {}
                    Err(e) => panic!(
                        "{at}: the mid-end ({cfg:?}) changed the meaning: {e}\n{f}\n---\n{g}"
                    ),
                }
            }
            split_critical_edges(&mut f);
            verify(&f).unwrap_or_else(|e| panic!("{at}: {e}\n{f}"));
            functions += 1;
            let _ = std::fs::remove_file(&dump);
        }
    }
    eprintln!("{modules} generated modules, {functions} functions, {compared} runs compared");
    assert!(
        modules > seeds * 8 / 10 && functions > seeds * 3 / 2,
        "{modules} {functions}"
    );
    assert!(compared > 1000, "{compared} runs compared");
}
