//! What an outside probe tried as an attacker would: each case is bounded (memory, threads,
//! reads of the input) and ends with a clear outcome.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Peak resident memory of a live process, from /proc, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// 8,192 overlapping iovecs over a 1 MiB memory: the host writes them without gathering a
/// copy (which took 8 GiB), fails a bad descriptor first, and caps nwritten at u32::MAX.
#[test]
fn overlapping_iovecs_write_in_bounded_memory() {
    for tier in ["interp", "baseline"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["run", "--tier", tier, &data("overlapping_iovecs.wat")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let peak = peak_rss_kib(child.id());
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            line, "done\n",
            "{tier}: the guest stopped early: {status:?}"
        );
        assert!(peak < 64 * 1024, "{tier}: peak RSS {peak} KiB");
    }
}

/// A file that never ends (`/dev/zero`) or is not a file at all is refused, not read until
/// memory runs out.
#[test]
fn endless_or_special_inputs_are_refused() {
    for args in [
        &["run", "/dev/zero"][..],
        &["run", "/tmp"],
        &["compile", "--tier", "baseline", "/dev/zero"],
        &["compile", "--print-ir", "before", "/dev/zero"],
        &["wast", "/dev/zero"],
        &["diff", "/dev/zero"],
    ] {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("not a regular file") || err.contains("too large"),
            "{args:?}: {err}"
        );
        assert!(start.elapsed() < Duration::from_secs(10), "{args:?}");
    }
}

/// Compile threads are bounded: a huge count is an error, not 10,000 threads.
#[test]
fn compile_threads_are_bounded() {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["run", "--compile-threads", "10000"])
        .arg(data("hello.wat"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("compile threads"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(strata::Engine::new(strata::Config::default().compile_threads(10_000)).is_err());
}
