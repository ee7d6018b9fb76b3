//! Golden filetests (in the spirit of Cranelift's `filetests`): each `filetests/*.ir` file
//! names a pass, gives its input (IR text, or a wasm module in the text format whose
//! functions are translated first) and the expected IR after the pass:
//!
//! ```text
//! ; pass: cleanup
//! ; input:
//! (module (func ...))          or   function "f"() -> () { ... }
//! ; expect:
//! function "f0"() -> () { ... }
//! ```
//! `STRATA_BLESS=1 cargo test -p strata-ir --test filetests` rewrites the expectations.

use strata_ir::passes::run_pass;
use strata_ir::{parse_functions, translate_function, verify, Function};

fn input_functions(input: &str) -> Result<Vec<Function>, String> {
    if input.trim_start().starts_with('(') {
        let bytes = wat::parse_str(input).map_err(|e| e.to_string())?;
        let module = strata_vm::Module::new(bytes).map_err(|e| e.message)?;
        (0..module.num_defined_funcs())
            .map(|d| translate_function(&module, d))
            .collect()
    } else {
        parse_functions(input).map_err(|e| e.to_string())
    }
}

fn run_file(path: &std::path::Path) -> Result<Option<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let pass = text
        .lines()
        .find_map(|l| l.strip_prefix("; pass:"))
        .map(str::trim)
        .ok_or("no `; pass:` line")?;
    let input_at = text.find("; input:\n").ok_or("no `; input:` line")? + "; input:\n".len();
    let expect_at = text.find("; expect:\n").ok_or("no `; expect:` line")?;
    let input = &text[input_at..expect_at];
    let expected = &text[expect_at + "; expect:\n".len()..];
    let mut out = String::new();
    for mut f in input_functions(input)? {
        verify(&f).map_err(|e| format!("input: {e}\n{f}"))?;
        run_pass(pass, &mut f)?;
        out += &f.to_string();
    }
    if out == expected {
        return Ok(None);
    }
    if std::env::var_os("STRATA_BLESS").is_some() {
        let blessed = format!("{}; expect:\n{out}", &text[..expect_at]);
        std::fs::write(path, blessed).map_err(|e| e.to_string())?;
        return Ok(None);
    }
    Ok(Some(out))
}

#[test]
fn filetests() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/filetests");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ir"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    let mut failures = Vec::new();
    for p in &paths {
        match run_file(p) {
            Ok(None) => {}
            Ok(Some(got)) => failures.push(format!("{}: output differs; got:\n{got}", p.display())),
            Err(e) => failures.push(format!("{}: {e}", p.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
