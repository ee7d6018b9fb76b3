//! The fixed-width SIMD suite (`proposals/simd`) on every configuration that runs SIMD: the
//! interpreter in each dispatch mode and both bounds modes, and tiered execution under the
//! stress policies (SIMD functions stay interpreted: the baseline rejects them). SIMD is off
//! by default until every tier runs it (`strata::set_simd_enabled`, process-wide), so this
//! test has its own binary, which turns it on.

use strata::conformance::{multi_tier, single_tiers, NamedConfig};
use strata::{Engine, Tier};
use strata_harness::wast_runner::{run_scripts, suite_scripts};

#[test]
fn simd_suite_on_the_interpreter_and_tiered_execution() {
    strata::set_simd_enabled(true);
    let configs: Vec<NamedConfig> = single_tiers()
        .into_iter()
        .chain(multi_tier())
        .filter(|c| matches!(c.config.tier, Tier::Interp | Tier::Tiered))
        .collect();
    assert!(configs.len() >= 10, "{} configurations", configs.len());
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
fn the_baseline_rejects_simd_functions_with_a_clear_error() {
    strata::set_simd_enabled(true);
    let wasm = wat::parse_str(
        r#"(module (func (export "f") (param i32) (result i32)
             (i32x4.extract_lane 1 (i32x4.splat (local.get 0)))))"#,
    )
    .unwrap();
    let engine = Engine::new(strata::Config::default().tier(Tier::Baseline)).unwrap();
    let module = strata::Module::new(&engine, &wasm).unwrap();
    let mut store = strata::Store::new(&engine);
    let err = match strata::Instance::new(&mut store, &module, &strata::Imports::default()) {
        Ok(_) => panic!("the baseline compiled a SIMD function"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("SIMD not supported by the baseline yet"),
        "{err}"
    );
}
