//! The optimizing tier compiles exception handling itself (docs/abi.md §10): every function
//! of every module of the `proposals/exceptions` suite is compiled by it, in both bounds
//! modes and with the mid-end on, off and in chaos mode, and none is refused (before, such
//! functions silently kept the baseline's code and the suite passed with no opt code
//! running). What the code does is checked by `spec_exceptions.rs`, which runs the suite on
//! every registered configuration, and by `engine/tests/exceptions.rs`.

use strata_harness::wast_runner::suite_scripts;
use strata_vm::{BoundsChecks, Module};

/// The binary of every module a script defines (text and binary forms; quoted and invalid
/// modules are skipped: they are not meant to compile).
fn modules(name: &str, text: &str) -> Vec<Vec<u8>> {
    use wast::{parser, QuoteWat, Wast, WastDirective};
    let buf = parser::ParseBuffer::new(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let script: Wast = parser::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out = Vec::new();
    for d in script.directives {
        let (WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m)) = d else {
            continue;
        };
        if matches!(m, QuoteWat::QuoteModule(..) | QuoteWat::QuoteComponent(..)) {
            continue;
        }
        if let Ok(bytes) = m.encode() {
            out.push(bytes);
        }
    }
    out
}

#[test]
fn opt_compiles_every_exception_handling_function() {
    let mut scripts: Vec<(String, String)> = suite_scripts("proposals/exceptions")
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.text))
        .collect();
    scripts.push((
        "legacy_exceptions.wast".into(),
        include_str!("wast/legacy_exceptions.wast").into(),
    ));
    let mut compiled = 0;
    let mut with_handlers = 0;
    let mut refused = Vec::new();
    for (name, text) in &scripts {
        for bytes in modules(name, text) {
            // Modules of other proposals (GC rec groups, typed references) do not validate
            // here; `spec_exceptions.rs` lists them.
            let Ok(mut module) = Module::new(bytes) else {
                continue;
            };
            for egraph in ["", "off", "chaos=7"] {
                module.egraph = egraph.into();
                for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
                    for def in 0..module.num_defined_funcs() as u32 {
                        match strata_tiers::opt::compile_bytes(&module, def, bounds) {
                            Ok(e) => {
                                compiled += 1;
                                with_handlers += usize::from(!e.handlers.is_empty());
                            }
                            // Tail calls are another branch's work in this tier (try_table.wast
                            // has two functions that make them, outside any try).
                            Err(e) if e.contains("unsupported operator ReturnCall") => {}
                            Err(e) => refused.push(format!(
                                "{name}: function {def} ({egraph:?}, {bounds:?}): {e}"
                            )),
                        }
                    }
                }
            }
        }
    }
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
    println!("{compiled} compiles, {with_handlers} with handlers");
    // The modules define 70 functions this tier compiles, 42 with handlers, per
    // configuration (six configurations).
    assert!(compiled >= 420, "only {compiled} functions compiled");
    assert!(with_handlers >= 252, "only {with_handlers} with handlers");
}
