//! Golden filetests: each `ir/filetests/*.ir` holds a `; pass: NAME` line, input functions,
//! a `; ---- output ----` line, and the expected text of the functions after the pass
//! (verified). `STRATA_BLESS=1 cargo test -p strata-ir --test filetests` rewrites the
//! expected output.

use strata_ir::passes::find_pass;
use strata_ir::{parse_functions, verify, write_function};

const MARKER: &str = "; ---- output ----";

fn run_file(path: &std::path::Path, bless: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (input, expected) = match text.split_once(MARKER) {
        Some((i, e)) => (i, e.trim_start_matches('\n')),
        None => (text.as_str(), ""),
    };
    let pass_name = input
        .lines()
        .find_map(|l| l.trim().strip_prefix("; pass:"))
        .map(str::trim)
        .ok_or("no `; pass: NAME` line")?;
    let pass = find_pass(pass_name).ok_or_else(|| format!("unknown pass {pass_name}"))?;
    let funcs = parse_functions(input).map_err(|e| format!("input: {e}"))?;
    if funcs.is_empty() {
        return Err("no input function".into());
    }
    let mut out = String::new();
    for mut f in funcs {
        verify(&f).map_err(|e| format!("input invalid: {e}"))?;
        (pass.run)(&mut f);
        verify(&f).map_err(|e| format!("invalid after {pass_name}: {e}\n{f}"))?;
        write_function(&mut out, &f);
    }
    if out != expected {
        if bless {
            std::fs::write(
                path,
                format!(
                    "{}{MARKER}\n{out}",
                    input.trim_end_matches('\n').to_string() + "\n"
                ),
            )
            .map_err(|e| e.to_string())?;
            return Ok(());
        }
        return Err(format!(
            "output differs (STRATA_BLESS=1 to accept)\n--- expected\n{expected}\n--- got\n{out}"
        ));
    }
    Ok(())
}

#[test]
fn filetests() {
    let bless = std::env::var_os("STRATA_BLESS").is_some_and(|v| v == "1");
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
        if let Err(e) = run_file(p, bless) {
            failures.push(format!("{}: {e}", p.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
