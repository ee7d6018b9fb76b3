//! Translates and verifies every function of every module of the wasm-v2 spec suite and of
//! `benches/programs/*.wasm`; checks that the text form round-trips on all of them and that
//! the cleanup pipeline and the mid-end (e-graph on, off and in chaos mode) keep them valid.

mod common;

use strata_ir::egraph::{optimize, MidendConfig};
use strata_ir::passes::{default_pipeline, run_pipeline};
use strata_ir::{parse_function, verify, Translator};
use strata_vm::Module;

#[derive(Default, Debug)]
struct Counts {
    modules: usize,
    functions: usize,
    insts: usize,
    osr_entries: usize,
    code_bytes: usize,
    /// Per mid-end configuration: (functions, rules fired, stop reasons).
    rules_fired: usize,
    stops: std::collections::BTreeMap<String, usize>,
    insts_after_on: usize,
    insts_after_off: usize,
    /// Translated without OSR entries (code entered only by calls), then optimized.
    insts_after_on_no_osr: usize,
}

/// Translates, verifies, round-trips and cleans up every defined function of `bytes`.
fn check_module(what: &str, bytes: Vec<u8>, counts: &mut Counts) -> Result<(), String> {
    let Ok(module) = Module::new(bytes) else {
        // Invalid or unsupported (SIMD...): not this test's business.
        return Ok(());
    };
    counts.modules += 1;
    counts.code_bytes += module.code_section_bytes;
    let mut t = Translator::new();
    let mut t_no_osr = Translator::new();
    t_no_osr.set_osr_entries(false);
    for i in 0..module.num_defined_funcs() {
        let at = format!("{what}: function {i}");
        let mut f = t.translate(&module, i).map_err(|e| format!("{at}: {e}"))?;
        verify(&f).map_err(|e| format!("{at}: translation invalid:\n{e}\n{f}"))?;
        counts.functions += 1;
        counts.insts += f.num_live_insts();
        counts.osr_entries += f.osr_entries.len();
        let text = f.to_string();
        let parsed = parse_function(&text).map_err(|e| format!("{at}: {e}\n{text}"))?;
        verify(&parsed).map_err(|e| format!("{at}: parsed invalid:\n{e}\n{text}"))?;
        let again = parsed.to_string();
        if again != text {
            return Err(format!("{at}: round trip differs:\n{text}\n---\n{again}"));
        }
        run_pipeline(&mut f, &default_pipeline(), true).map_err(|e| format!("{at}: {e}"))?;
        let configs = [
            ("on", MidendConfig::default()),
            ("off", MidendConfig::off()),
            ("chaos", MidendConfig::chaos(counts.functions as u64)),
        ];
        for (name, cfg) in configs {
            let mut g = f.clone();
            let stats = optimize(&mut g, &cfg);
            verify(&g).map_err(|e| {
                format!("{at}: invalid after the mid-end ({name}):\n{e}\n{f}\n---\n{g}")
            })?;
            match name {
                "on" => {
                    counts.rules_fired += stats.rules_fired_total();
                    *counts.stops.entry(stats.stop_reason.clone()).or_default() += 1;
                    counts.insts_after_on += g.num_live_insts();
                }
                "off" => counts.insts_after_off += g.num_live_insts(),
                _ => {}
            }
            strata_ir::passes::split_critical_edges(&mut g);
            verify(&g)
                .map_err(|e| format!("{at}: ({name}) invalid after splitting edges:\n{e}"))?;
        }
        // Without OSR entries: no OSR block, and the mid-end keeps it valid.
        let mut h = t_no_osr
            .translate(&module, i)
            .map_err(|e| format!("{at}: {e}"))?;
        if !h.osr_entries.is_empty() {
            return Err(format!("{at}: OSR entries although switched off"));
        }
        run_pipeline(&mut h, &default_pipeline(), true).map_err(|e| format!("{at}: {e}"))?;
        optimize(&mut h, &MidendConfig::default());
        verify(&h).map_err(|e| format!("{at}: invalid after the mid-end (no OSR):\n{e}\n{h}"))?;
        counts.insts_after_on_no_osr += h.num_live_insts();
        // What a back end runs last: the result must stay valid.
        strata_ir::passes::split_critical_edges(&mut f);
        verify(&f).map_err(|e| format!("{at}: invalid after splitting edges:\n{e}\n{f}"))?;
    }
    Ok(())
}

#[test]
fn wasm_v2_spec_suite() {
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for (name, bytes) in common::wasm_v2_modules() {
        if let Err(e) = check_module(&name, bytes, &mut counts) {
            failures.push(e);
        }
    }
    eprintln!("wasm-v2: {counts:?}");
    assert!(
        failures.is_empty(),
        "{}",
        common::first_failures(&failures, 5)
    );
    // The suite has about 4000 functions in modules Strata accepts; a silent skip of everything must fail.
    assert!(counts.functions > 4000, "{counts:?}");
}

/// Tail calls and typed function references: every function of the two proposals' suites
/// translates (none is refused) and stays valid through the pipeline and the mid-end.
#[test]
fn tail_call_and_function_references_suites() {
    for (suite, least) in [("tail-call", 70), ("function-references", 700)] {
        let mut counts = Counts::default();
        let mut failures = Vec::new();
        for (name, bytes) in common::proposal_modules(suite) {
            if let Err(e) = check_module(&format!("{suite}/{name}"), bytes, &mut counts) {
                failures.push(e);
            }
        }
        eprintln!("{suite}: {counts:?}");
        assert!(
            failures.is_empty(),
            "{}",
            common::first_failures(&failures, 5)
        );
        assert!(counts.functions >= least, "{suite}: {counts:?}");
    }
}

#[test]
fn bench_programs() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/programs");
    let mut counts = Counts::default();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "{paths:?}");
    for p in &paths {
        let bytes = std::fs::read(p).unwrap();
        let before = counts.modules;
        check_module(&p.display().to_string(), bytes, &mut counts).unwrap();
        assert_eq!(counts.modules, before + 1, "{} did not load", p.display());
    }
    eprintln!("benches/programs: {counts:?}");
}
