//! The baseline JIT's own outputs: perf map and disassembly. What every tier must do (traps,
//! stack exhaustion, address hygiene, foreign faults) is in `engine/tests/tiers.rs`, which
//! runs on every registered tier.

use strata_tiers::baseline::BaselineModule;
use strata_tiers::jit::{disasm, perf_map};
use strata_vm::{BoundsChecks, Module};

#[test]
fn perf_map_has_a_line_per_function() {
    perf_map::enable();
    let wat = r#"(module (func $alpha (export "a")) (func $beta (export "b")))"#;
    let module = Module::new(wat::parse_str(wat).unwrap()).unwrap();
    let code = BaselineModule::compile(&module, BoundsChecks::GuardPages).unwrap();
    let text = std::fs::read_to_string(perf_map::path()).unwrap();
    for (d, name) in ["alpha", "beta"].iter().enumerate() {
        let start = format!("{:x} ", code.entry(d as u32) as usize);
        let line = text
            .lines()
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("no perf map line for {name}:\n{text}"));
        let parts: Vec<&str> = line.splitn(3, ' ').collect();
        assert!(usize::from_str_radix(parts[1], 16).unwrap() > 0);
        assert!(parts[2].ends_with(name), "{line}");
    }
}

#[test]
fn disassembly_shows_the_prologue_and_return() {
    let wat = r#"(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#;
    let module = Module::new(wat::parse_str(wat).unwrap()).unwrap();
    let code = BaselineModule::compile(&module, BoundsChecks::GuardPages).unwrap();
    let text = disasm::disassemble(code.function_code(0), code.entry(0) as u64);
    assert!(text.lines().next().unwrap().ends_with("push rbp"), "{text}");
    assert!(text.contains("add "), "{text}");
    assert!(text.contains("ret"), "{text}");
}
