//! What `strata run` prints for a trap: the engine's `RuntimeError` display, with Rust and
//! C++ names demangled, code offsets, and deep recursion folded into one line.

use std::process::Command;

#[test]
fn traps_print_demangled_names_offsets_and_folded_recursion() {
    let file = format!("{}/tests/data/mangled.wat", env!("CARGO_MANIFEST_DIR"));
    for tier in ["interp", "baseline", "tiered"] {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["run", "--tier", tier, "--invoke", "entry", &file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(134), "{tier}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines[..2],
            ["error: runtime error: unreachable", "wasm backtrace:"],
            "{tier}: {err}"
        );
        assert!(
            lines[2].starts_with("  0: app!app::deep (func 0 @ 0x"),
            "{tier}: {err}"
        );
        assert!(
            lines[5].starts_with("  ... 48 more frames of app!app::deep"),
            "{tier}: {err}"
        );
        assert!(
            lines[6].starts_with("  51: app!entry() (func 1 @ 0x"),
            "{tier}: {err}"
        );
        assert_eq!(lines.len(), 7, "{tier}: {err}");
    }
}
