//! The fixed-width SIMD suite (`proposals/simd`) on every configuration that runs SIMD: the
//! interpreter in each dispatch mode, the baseline, tiered execution under the stress
//! policies and mixed tiers, each in both bounds modes; and the optimizing tier, which runs
//! SIMD itself (a test fails if any function of the suites falls back to the baseline's
//! code), in both bounds modes with the e-graph on, off and in chaos. SIMD can be turned off
//! (`strata::set_simd_enabled`, process-wide), so this test has its own binary, which turns
//! it on.

use strata::conformance::{multi_tier, single_tiers, NamedConfig};
use strata::{Engine, Tier};
use strata_harness::wast_runner::{run_scripts, script_modules, suite_scripts};

#[test]
fn simd_suite_on_the_interpreter_and_tiered_execution() {
    strata::set_simd_enabled(true);
    let configs: Vec<NamedConfig> = single_tiers()
        .into_iter()
        .chain(multi_tier())
        .filter(|c| {
            matches!(
                c.config.tier,
                Tier::Interp | Tier::Baseline | Tier::Tiered | Tier::Mixed { .. }
            )
        })
        .collect();
    assert!(configs.len() >= 12, "{} configurations", configs.len());
    assert!(configs.iter().any(|c| c.config.tier == Tier::Baseline));
    let scripts = suite_scripts("proposals/simd").unwrap();
    let mut report = Vec::new();
    for NamedConfig { name, config } in &configs {
        let engine = Engine::new(config.clone()).unwrap();
        let outcomes = run_scripts(&engine, &scripts, 2);
        let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
        for (s, o) in scripts.iter().zip(&outcomes) {
            passed += o.passed;
            skipped += o.skipped;
            failures.extend(o.failures.iter().map(|f| format!("  {}: {f}", s.name)));
        }
        if !failures.is_empty() || skipped > 0 || passed < 25_900 {
            report.push(format!(
                "proposals/simd on {name}: {passed} passed, {} failed, {skipped} skipped\n{}",
                failures.len(),
                failures.join("\n")
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn relaxed_simd_suite_on_the_interpreter_the_baseline_and_tiered_execution() {
    strata::set_simd_enabled(true);
    let configs: Vec<NamedConfig> = single_tiers()
        .into_iter()
        .chain(multi_tier())
        .filter(|c| {
            matches!(
                c.config.tier,
                Tier::Interp | Tier::Baseline | Tier::Tiered | Tier::Mixed { .. }
            )
        })
        .collect();
    let scripts = suite_scripts("proposals/relaxed-simd").unwrap();
    let mut report = Vec::new();
    for NamedConfig { name, config } in &configs {
        let engine = Engine::new(config.clone()).unwrap();
        let outcomes = run_scripts(&engine, &scripts, 2);
        let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
        for (s, o) in scripts.iter().zip(&outcomes) {
            passed += o.passed;
            skipped += o.skipped;
            failures.extend(o.failures.iter().map(|f| format!("  {}: {f}", s.name)));
        }
        if !failures.is_empty() || skipped > 0 || passed < 77 {
            report.push(format!(
                "proposals/relaxed-simd on {name}: {passed} passed, {} failed, {skipped} skipped\n{}",
                failures.len(),
                failures.join("\n")
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// `tests/wast/simd_registers.wast` (v128 values in the baseline's XMM registers: more live
/// values than registers, across calls, branches, loops and OSR points, select, cached locals,
/// globals, memory and lanes) on every configuration, the optimizing tier's included.
#[test]
fn simd_registers_script_on_every_configuration() {
    strata::set_simd_enabled(true);
    let scripts = vec![strata_harness::wast_runner::Script {
        suite: "strata".into(),
        name: "simd_registers.wast".into(),
        text: include_str!("wast/simd_registers.wast").into(),
    }];
    let mut report = Vec::new();
    for NamedConfig { name, config } in single_tiers().into_iter().chain(multi_tier()) {
        let engine = Engine::new(config).unwrap();
        for o in run_scripts(&engine, &scripts, 1) {
            if o.failed > 0 || o.skipped > 0 || o.passed < 46 {
                report.push(format!(
                    "simd_registers.wast on {name}: {} passed, {} failed, {} skipped\n{}",
                    o.passed,
                    o.failed,
                    o.skipped,
                    o.failures.join("\n")
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn the_baseline_compiles_simd_functions() {
    strata::set_simd_enabled(true);
    let wasm = wat::parse_str(
        r#"(module (func (export "f") (param i32) (result i32)
             (i32x4.extract_lane 1 (i32x4.add (i32x4.splat (local.get 0))
                                             (v128.const i32x4 1 2 3 4)))))"#,
    )
    .unwrap();
    for bounds in [
        strata::BoundsChecks::GuardPages,
        strata::BoundsChecks::Explicit,
    ] {
        let config = strata::Config::default()
            .tier(Tier::Baseline)
            .bounds_checks(bounds);
        let engine = Engine::new(config).unwrap();
        let module = strata::Module::new(&engine, &wasm).unwrap();
        let mut store = strata::Store::new(&engine);
        let instance =
            strata::Instance::new(&mut store, &module, &strata::Imports::default()).unwrap();
        let f = instance.get_typed_func::<i32, i32>(&store, "f").unwrap();
        assert_eq!(f.call(&mut store, 40).unwrap(), 42);
    }
}

/// Every module of the SIMD suites, as binaries, with its script's name.
fn suite_modules(suite: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for script in suite_scripts(suite).unwrap() {
        for bytes in script_modules(&script.text).unwrap() {
            out.push((script.name.clone(), bytes));
        }
    }
    out
}

/// The optimizing tier compiles every function of the SIMD and relaxed-SIMD suites itself:
/// none falls back to the baseline's code (which `--tier opt` would do silently).
#[test]
fn the_optimizing_tier_compiles_every_simd_function() {
    strata::set_simd_enabled(true);
    for bounds in [
        strata::BoundsChecks::GuardPages,
        strata::BoundsChecks::Explicit,
    ] {
        let engine = Engine::new(strata::Config::default().bounds_checks(bounds)).unwrap();
        let (mut compiled, mut refused) = (0usize, Vec::new());
        for suite in ["proposals/simd", "proposals/relaxed-simd"] {
            for (name, bytes) in suite_modules(suite) {
                let Ok(module) = strata::Module::new(&engine, &bytes) else {
                    continue;
                };
                let env = module.env();
                for d in 0..env.num_defined_funcs() as u32 {
                    match strata_tiers::opt::function_code(env, d, bounds) {
                        Ok(_) => compiled += 1,
                        Err(e) => refused.push(format!("{name}: function {d}: {e}")),
                    }
                }
            }
        }
        assert!(
            refused.is_empty(),
            "{} functions refused:\n{}",
            refused.len(),
            refused.join("\n")
        );
        // The suites' valid modules define 1,727 functions.
        assert!(compiled >= 1_700, "only {compiled} functions compiled");
    }
}

/// Both SIMD suites on the optimizing tier: both bounds modes, the e-graph on, off and in
/// chaos (random extraction).
#[test]
fn simd_suites_on_the_optimizing_tier() {
    strata::set_simd_enabled(true);
    let mut report = Vec::new();
    for bounds in [
        strata::BoundsChecks::GuardPages,
        strata::BoundsChecks::Explicit,
    ] {
        for egraph in ["on", "off", "chaos=3"] {
            let config = strata::Config::default()
                .tier(Tier::Opt)
                .bounds_checks(bounds)
                .egraph(egraph)
                .unwrap();
            let engine = Engine::new(config).unwrap();
            for (suite, min) in [("proposals/simd", 25_900), ("proposals/relaxed-simd", 77)] {
                let scripts = suite_scripts(suite).unwrap();
                let outcomes = run_scripts(&engine, &scripts, 2);
                let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
                for (s, o) in scripts.iter().zip(&outcomes) {
                    passed += o.passed;
                    skipped += o.skipped;
                    failures.extend(o.failures.iter().map(|f| format!("  {}: {f}", s.name)));
                }
                if !failures.is_empty() || skipped > 0 || passed < min {
                    report.push(format!(
                        "{suite} on opt {bounds:?} egraph={egraph}: {passed} passed, {} failed, {skipped} skipped\n{}",
                        failures.len(),
                        failures.join("\n")
                    ));
                }
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}
