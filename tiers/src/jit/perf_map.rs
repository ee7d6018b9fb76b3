//! `/tmp/perf-<pid>.map`: one `START SIZE name` line per compiled function, so that `perf`
//! names JIT code (design.md §8). Enabled process-wide (`strata run --perf-map`).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static ENABLED: AtomicBool = AtomicBool::new(false);
static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Turns the perf map on for every module compiled from now on.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The map file of this process.
pub fn path() -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()))
}

/// Appends entries `(start address, size, name)`.
pub fn write(entries: &[(usize, usize, String)]) -> std::io::Result<()> {
    let mut guard = FILE.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path())?,
        );
    }
    let Some(f) = guard.as_mut() else {
        return Ok(());
    };
    let mut text = String::new();
    for (start, size, name) in entries {
        text.push_str(&format!("{start:x} {size:x} {name}\n"));
    }
    f.write_all(text.as_bytes())?;
    f.flush()
}
