//! Exception handling (Wasm 3.0, docs/abi.md §10) on every registered configuration: the
//! `proposals/exceptions` suite, and Strata's own tests of the legacy instructions
//! (`tests/wast/legacy_exceptions.wast`: `try`/`catch`/`catch_all`/`delegate`/`rethrow`, which
//! the suites do not cover).
//!
//! The suite is not in `spec.rs`'s whole-suite list yet: some of its modules need other
//! Wasm 3.0 proposals. Those failures (and only those) are allowed here, each with its reason;
//! every other directive must pass. Move the suite to `spec.rs` when they land.

use strata::conformance::{multi_tier, single_tiers, NamedConfig};
use strata::Engine;
use strata_harness::wast_runner::{run_scripts, suite_scripts, Script};

/// Failures allowed in the suite: (file, part of the failure message), and why.
const NEEDS_OTHER_PROPOSALS: [(&str, &str); 4] = [
    // tag.wast's link-time typing section declares its types in rec groups (GC).
    ("tag.wast", "requires `gc`"),
    // ... and then registers and imports from that module.
    ("tag.wast", "no such module"),
    // try_table.wast's last modules use typed function references (function-references).
    ("try_table.wast", "function references required"),
    ("try_table.wast", "no such module"),
];

/// Directives that must pass at least, on every configuration (so a runner that silently
/// ran nothing fails).
const LEAST_PASSED: usize = 50;

fn check(configs: &[NamedConfig]) {
    let suite = suite_scripts("proposals/exceptions").unwrap();
    let legacy = Script {
        suite: "strata".into(),
        name: "legacy_exceptions.wast".into(),
        text: include_str!("wast/legacy_exceptions.wast").into(),
    };
    let mut report = Vec::new();
    for NamedConfig { name, config } in configs {
        let engine = Engine::new(config.clone()).unwrap();
        let outcomes = run_scripts(&engine, &suite, 2);
        let mut passed = 0;
        for (s, o) in suite.iter().zip(&outcomes) {
            passed += o.passed;
            for f in &o.failures {
                let known = NEEDS_OTHER_PROPOSALS
                    .iter()
                    .any(|(file, msg)| s.name.ends_with(file) && f.contains(msg));
                if !known {
                    report.push(format!("{name}: {}: {f}", s.name));
                }
            }
            if o.skipped > 0 {
                report.push(format!("{name}: {}: {} skipped", s.name, o.skipped));
            }
        }
        if passed < LEAST_PASSED {
            report.push(format!("{name}: only {passed} directives passed"));
        }
        let o = &run_scripts(&engine, std::slice::from_ref(&legacy), 1)[0];
        if o.failed > 0 || o.skipped > 0 || o.passed < 29 {
            report.push(format!(
                "{name}: legacy_exceptions.wast: {} passed, {} failed, {} skipped\n{}",
                o.passed,
                o.failed,
                o.skipped,
                o.failures.join("\n")
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn exceptions_on_every_single_tier_and_interpreter_mode() {
    check(&single_tiers());
}

#[test]
fn exceptions_tiered_and_mixed() {
    check(&multi_tier());
}
