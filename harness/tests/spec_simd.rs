//! The fixed-width SIMD suite (`proposals/simd`) on every configuration that runs SIMD: the
//! interpreter in each dispatch mode, the baseline, tiered execution under the stress
//! policies and mixed tiers, each in both bounds modes (the optimizing tier refuses SIMD
//! functions, which its configurations would leave to the baseline). SIMD can be turned off
//! (`strata::set_simd_enabled`, process-wide), so this test has its own binary, which turns
//! it on.

use strata::conformance::{multi_tier, single_tiers, NamedConfig};
use strata::{Engine, Tier};
use strata_harness::wast_runner::{run_scripts, suite_scripts};

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
