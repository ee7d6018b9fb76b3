//! memory64 and table64 in the optimizing tier: every function of every module of
//! `proposals/memory64`, of `harness/tests/wast/table64.wast` and of the wasm-v3 modules with
//! a 64-bit memory or table is compiled by the optimizing tier itself (a test fails if one
//! falls back to the baseline's code, which `--tier opt` would do silently), its IR verifies
//! and its text form round-trips; and those scripts pass on the optimizing tier in both
//! bounds modes with the e-graph on, off and in chaos. `simd_address.wast` needs SIMD, which
//! is process-wide, so this test has its own binary, which turns it on.

use strata::{BoundsChecks, Config, Engine, Tier};
use strata_harness::wast_runner::{run_scripts, suite_scripts, Script};

/// The table64 script the harness keeps (the suites' memory64 proposal has none).
fn table64_script() -> Script {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wast/table64.wast");
    Script {
        suite: "files".into(),
        name: "table64.wast".into(),
        text: std::fs::read_to_string(path).unwrap(),
    }
}

/// Every script this file checks: the memory64 proposal, table64.wast, and the wasm-v3
/// scripts (only their modules with a 64-bit memory or table count for compilation).
fn scripts() -> Vec<Script> {
    let mut s = suite_scripts("proposals/memory64").unwrap();
    s.push(table64_script());
    s.extend(suite_scripts("wasm-v3").unwrap());
    s
}

/// The modules of a script, as binaries (modules that do not encode are skipped: the
/// malformed and invalid ones sit in `assert_*` directives, not here).
fn script_modules(script: &Script) -> Vec<Vec<u8>> {
    use wast::{QuoteWat, QuoteWatTest, Wast, WastDirective};
    let buf = wast::parser::ParseBuffer::new(&script.text).unwrap();
    let wast: Wast<'_> = wast::parser::parse(&buf).unwrap();
    let mut out = Vec::new();
    for d in wast.directives {
        let mut m: QuoteWat<'_> = match d {
            WastDirective::Module(m) | WastDirective::ModuleDefinition(m) => m,
            _ => continue,
        };
        let bytes = match m.to_test() {
            Ok(QuoteWatTest::Binary(b)) => b,
            Ok(QuoteWatTest::Text(t)) => match wat::parse_bytes(&t) {
                Ok(b) => b.into_owned(),
                Err(_) => continue,
            },
            Err(_) => continue,
        };
        out.push(bytes);
    }
    out
}

/// The optimizing tier compiles every function of every module with a 64-bit memory or
/// table (and every function of the memory64 proposal's modules), with IR that verifies
/// and round-trips through the text form.
#[test]
fn the_optimizing_tier_compiles_every_memory64_and_table64_function() {
    strata::set_simd_enabled(true);
    let scripts = scripts();
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = Engine::new(Config::default().bounds_checks(bounds)).unwrap();
        let (mut compiled, mut wide_modules, mut refused) = (0usize, 0usize, Vec::new());
        let (mut mem64, mut table64) = (false, false);
        for script in &scripts {
            let proposal = script.suite == "proposals/memory64";
            for bytes in script_modules(script) {
                let Ok(module) = strata::Module::new(&engine, &bytes) else {
                    continue;
                };
                let env = module.env();
                let m64 = env.memories.iter().any(|m| m.memory64);
                let t64 = env.tables.iter().any(|t| t.ty.table64);
                if !(m64 || t64 || proposal) {
                    continue;
                }
                mem64 |= m64;
                table64 |= t64;
                wide_modules += usize::from(m64 || t64);
                for d in 0..env.num_defined_funcs() as u32 {
                    let at = format!("{}/{}: function {d}", script.suite, script.name);
                    let ir = match strata_tiers::opt::build_ir(env, d) {
                        Ok(f) => f,
                        Err(e) => {
                            refused.push(format!("{at}: {e}"));
                            continue;
                        }
                    };
                    if let Err(e) = strata_ir::verify(&ir) {
                        refused.push(format!("{at}: IR invalid:\n{e}\n{ir}"));
                        continue;
                    }
                    let text = ir.to_string();
                    match strata_ir::parse_function(&text) {
                        Ok(p) if p.to_string() == text => {}
                        Ok(p) => refused.push(format!("{at}: round trip differs:\n{text}\n{p}")),
                        Err(e) => refused.push(format!("{at}: text does not parse: {e}\n{text}")),
                    }
                    match strata_tiers::opt::function_code(env, d, bounds) {
                        Ok(_) => compiled += 1,
                        Err(e) => refused.push(format!("{at}: {e}")),
                    }
                }
            }
        }
        assert!(
            refused.is_empty(),
            "{bounds:?}: {} functions refused:\n{}",
            refused.len(),
            refused.join("\n")
        );
        assert!(
            mem64 && table64,
            "no 64-bit memory ({mem64}) or table ({table64})"
        );
        assert!(
            compiled >= 1_000 && wide_modules >= 100,
            "{bounds:?}: only {compiled} functions of {wide_modules} 64-bit modules compiled"
        );
    }
}

/// The memory64 proposal and table64.wast on the optimizing tier: both bounds modes, the
/// e-graph on, off and in chaos (random extraction); nothing fails or is skipped.
#[test]
fn memory64_scripts_on_the_optimizing_tier() {
    strata::set_simd_enabled(true);
    let mut scripts = suite_scripts("proposals/memory64").unwrap();
    scripts.push(table64_script());
    let mut report = Vec::new();
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        for egraph in ["on", "off", "chaos=3", "chaos=11"] {
            let config = Config::default()
                .tier(Tier::Opt)
                .bounds_checks(bounds)
                .egraph(egraph)
                .unwrap();
            let engine = Engine::new(config).unwrap();
            let outcomes = run_scripts(&engine, &scripts, 2);
            let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
            for (s, o) in scripts.iter().zip(&outcomes) {
                passed += o.passed;
                skipped += o.skipped;
                failures.extend(o.failures.iter().map(|f| format!("  {}: {f}", s.name)));
            }
            if !failures.is_empty() || skipped > 0 || passed < 1_630 {
                report.push(format!(
                    "{bounds:?}, egraph {egraph}: {passed} passed, {} failed, {skipped} skipped\n{}",
                    failures.len(),
                    failures.join("\n")
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}
