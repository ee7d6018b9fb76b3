//! One engine run as a subprocess: whole-process wall time, captured output, a timeout.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

/// At most this much of each output stream is kept: benches/programs print one line, but a
/// Sightglass benchmark's output is compared whole (pulldown-cmark writes 1.2 MB to stderr).
const MAX_OUTPUT: u64 = 16 << 20;

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    Timeout,
    SpawnFailed(String),
}

/// The result of running one command.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub exit: Exit,
    /// From just before the spawn to the moment the process was reaped.
    pub wall: Duration,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.exit == Exit::Code(0)
    }

    /// A short description of a failed run: exit status and the last line of stderr.
    pub fn failure_summary(&self) -> String {
        let what = match &self.exit {
            Exit::Code(c) => format!("exit status {c}"),
            Exit::Signal(s) => format!("killed by signal {s}"),
            Exit::Timeout => "timeout".to_string(),
            Exit::SpawnFailed(e) => return format!("cannot start: {e}"),
        };
        match error_line(&self.stderr) {
            Some(line) => format!("{what}: {}", truncate(line, 160)),
            None => what,
        }
    }
}

/// The line of stderr that best says what went wrong: the first naming an error, trap or
/// panic (backtraces follow it), else the last non-empty line.
fn error_line(stderr: &str) -> Option<&str> {
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| {
            let l = l.to_ascii_lowercase();
            ["error", "trap", "panicked", "unreachable", "exhausted"]
                .iter()
                .any(|w| l.contains(w))
        })
        .or_else(|| lines().next_back())
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

fn reader(stream: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stream {
            let mut limited = s.take(MAX_OUTPUT);
            let _ = limited.read_to_end(&mut buf);
            // Drain the rest so the child never blocks on a full pipe.
            let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` with stdin closed and stdout/stderr captured; kills it after `timeout`.
pub fn run(mut cmd: Command, timeout: Duration) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                exit: Exit::SpawnFailed(e.to_string()),
                wall: start.elapsed(),
                stdout: String::new(),
                stderr: String::new(),
            }
        }
    };
    let pid = child.id();
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let reaped = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    {
        let reaped = Arc::clone(&reaped);
        thread::spawn(move || {
            let status = child.wait();
            let end = Instant::now();
            reaped.store(true, Ordering::SeqCst);
            let _ = tx.send((status, end));
        });
    }
    let (status, end, timed_out) = match rx.recv_timeout(timeout) {
        Ok((status, end)) => (status, end, false),
        Err(_) => {
            if !reaped.load(Ordering::SeqCst) {
                if let Ok(pid) = libc::pid_t::try_from(pid) {
                    // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            match rx.recv() {
                Ok((status, end)) => (status, end, true),
                Err(_) => (
                    Err(std::io::Error::other("lost the child process")),
                    Instant::now(),
                    true,
                ),
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let exit = if timed_out {
        Exit::Timeout
    } else {
        match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(c), _) => Exit::Code(c),
                (None, Some(sig)) => Exit::Signal(sig),
                (None, None) => Exit::Code(-1),
            },
            Err(e) => Exit::SpawnFailed(e.to_string()),
        }
    };
    Outcome {
        exit,
        wall: end.duration_since(start),
        stdout,
        stderr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; exit 3"]);
        let o = run(c, Duration::from_secs(10));
        assert_eq!(o.exit, Exit::Code(3));
        assert_eq!(o.stdout, "out\n");
        assert_eq!(o.stderr, "err\n");
        assert!(!o.success());
        assert_eq!(o.failure_summary(), "exit status 3: err");
    }

    #[test]
    fn error_line_skips_backtraces() {
        let e = "error: runtime error: unreachable\nwasm backtrace:\n  0: func 0\n";
        assert_eq!(error_line(e), Some("error: runtime error: unreachable"));
        assert_eq!(error_line("a\nb\n\n"), Some("b"));
        assert_eq!(error_line(""), None);
    }

    #[test]
    fn times_out() {
        let mut c = Command::new("sleep");
        c.arg("5");
        let o = run(c, Duration::from_millis(100));
        assert_eq!(o.exit, Exit::Timeout);
        assert!(o.wall < Duration::from_secs(4));
    }

    #[test]
    fn missing_binary() {
        let o = run(Command::new("/nonexistent/xyz"), Duration::from_secs(1));
        assert!(matches!(o.exit, Exit::SpawnFailed(_)));
    }
}
