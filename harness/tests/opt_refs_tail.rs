//! The optimizing tier compiles the tail-call and typed-function-reference operators itself:
//! every function of every valid module of `proposals/tail-call` and
//! `proposals/function-references`, and every function of the `wasm-v3` suite that uses one
//! of these operators, compiles with `--tier opt` in both bounds modes. A whole-module
//! compile quietly keeps the baseline's code for a function it refuses, so the suites passing
//! with `--tier opt` alone would not show that optimized code ran.

use strata::{BoundsChecks, Config, Engine};
use strata_harness::wast_runner::{script_modules, suite_scripts};

/// The operators this test is about.
fn is_ref_or_tail_op(op: &wasmparser::Operator<'_>) -> bool {
    use wasmparser::Operator as O;
    matches!(
        op,
        O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::CallRef { .. }
            | O::RefAsNonNull
            | O::BrOnNull { .. }
            | O::BrOnNonNull { .. }
    )
}

/// Defined functions (by defined index) of `bytes` whose bodies use one of the operators.
fn functions_using_them(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let mut def = 0;
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        let Ok(wasmparser::Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let uses = body.get_operators_reader().is_ok_and(|r| {
            r.into_iter()
                .any(|op| op.is_ok_and(|op| is_ref_or_tail_op(&op)))
        });
        if uses {
            out.push(def);
        }
        def += 1;
    }
    out
}

struct Counts {
    modules: usize,
    functions: usize,
    /// Functions that use one of the operators.
    using: usize,
}

/// Compiles the chosen functions of every valid module of `suite` with the optimizing tier;
/// `all`: every function, else only the ones using the operators.
fn check(suite: &str, all: bool, failures: &mut Vec<String>) -> Counts {
    let engine = Engine::new(Config::default()).unwrap();
    let mut counts = Counts {
        modules: 0,
        functions: 0,
        using: 0,
    };
    for script in suite_scripts(suite).unwrap() {
        for bytes in script_modules(&script.text).unwrap() {
            let using = functions_using_them(&bytes);
            if !all && using.is_empty() {
                continue;
            }
            let Ok(module) = strata::Module::new(&engine, &bytes) else {
                continue;
            };
            let env = module.env();
            counts.modules += 1;
            let defs: Vec<u32> = if all {
                (0..env.num_defined_funcs() as u32).collect()
            } else {
                using.clone()
            };
            for def in defs {
                counts.functions += 1;
                counts.using += usize::from(using.contains(&def));
                for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
                    if let Err(e) = strata_tiers::opt::compile_bytes(env, def, bounds) {
                        failures.push(format!(
                            "{suite}/{}: defined function {def} ({bounds:?}): {e}",
                            script.name
                        ));
                    }
                }
            }
        }
    }
    counts
}

#[test]
fn opt_compiles_every_function_of_the_tail_call_and_function_reference_suites() {
    let mut failures = Vec::new();
    let tail = check("proposals/tail-call", true, &mut failures);
    let refs = check("proposals/function-references", true, &mut failures);
    let v3 = check("wasm-v3", false, &mut failures);
    for (suite, c) in [
        ("proposals/tail-call", &tail),
        ("proposals/function-references", &refs),
        ("wasm-v3", &v3),
    ] {
        println!(
            "{suite}: {} modules, {} functions compiled by opt, {} of them use the operators",
            c.modules, c.functions, c.using
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The suites really were there and used the operators (a loader that found nothing
    // would pass vacuously).
    assert!(tail.using >= 30, "tail-call: {} functions", tail.using);
    assert!(
        refs.using >= 30,
        "function-references: {} functions",
        refs.using
    );
    assert!(v3.using >= 30, "wasm-v3: {} functions", v3.using);
}
