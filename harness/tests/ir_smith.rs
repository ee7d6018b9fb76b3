//! The optimizing tier's IR on generated modules: wasm-smith modules (Strata's features,
//! with imports and larger bodies than the differential cases) translate to SSA, verify,
//! round-trip through the text form and stay valid through the cleanup pipeline.

use arbitrary::Unstructured;
use strata_harness::diff::generate::smith_config;
use strata_ir::passes::{default_pipeline, run_pipeline, split_critical_edges};
use strata_ir::{parse_function, verify, Translator};

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
    let (mut modules, mut functions) = (0, 0);
    let mut t = Translator::new();
    let engine = strata::Engine::default();
    for seed in 0..1000u64 {
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
            split_critical_edges(&mut f);
            verify(&f).unwrap_or_else(|e| panic!("{at}: {e}\n{f}"));
            functions += 1;
            let _ = std::fs::remove_file(&dump);
        }
    }
    eprintln!("{modules} generated modules, {functions} functions");
    assert!(modules > 800 && functions > 1500, "{modules} {functions}");
}
