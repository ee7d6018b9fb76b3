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
        // The innermost frame at `unreachable`, the recursion at its call (folded), the
        // entry at its call: each frame with its instruction's offset, as wasmtime prints.
        let frame = |line: &str, index: &str, rest: &str| {
            line.strip_prefix(index)
                .and_then(|l| l.strip_prefix("0x"))
                .and_then(|l| l.split_once(" - "))
                .is_some_and(|(hex, r)| u32::from_str_radix(hex, 16).is_ok() && r == rest)
        };
        assert!(
            frame(lines[2], "  0: ", "app!app::deep (func 0)"),
            "{tier}: {err}"
        );
        assert!(
            frame(lines[3], "  1: ", "app!app::deep (func 0)") && lines[3][5..] != lines[2][5..],
            "{tier}: {err}"
        );
        assert!(
            lines[6].starts_with("  ... 47 more frames of 0x"),
            "{tier}: {err}"
        );
        assert!(
            frame(lines[7], "  51: ", "app!entry() (func 1)"),
            "{tier}: {err}"
        );
        assert_eq!(lines.len(), 8, "{tier}: {err}");
    }
}
