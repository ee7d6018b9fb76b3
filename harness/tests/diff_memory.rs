//! `strata diff` holds one configuration's memory at a time and keeps a page digest of large
//! memories, not a copy: a module that grows to 4 GiB took 8 GB with two configurations.
//! (A test binary of its own, so that the peak RSS of its children is this child's.)

use std::process::Command;

#[test]
fn diff_of_a_4gib_memory_stays_small() {
    let file = format!("{}/tests/data/grow_4gib.wat", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["diff", "--tiers", "interp,interp-explicit,baseline", &file])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0 failed, 0 skipped"), "{stdout}");
    // SAFETY: getrusage writes the struct it is given.
    let peak_kib = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss as u64
    };
    assert!(peak_kib < 512 * 1024, "peak RSS {peak_kib} KiB:\n{stdout}");
}
