//! A time limit for wasm execution by epoch interruption (design.md §13): a timer thread bumps
//! the engine's epoch when the limit passes, so the running wasm traps "interrupt" at its next
//! function entry or loop header and the thread that ran it is free again, instead of a
//! runner abandoning a thread that spins on. Dropping the watchdog stops its timer at once.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Watchdog {
    /// Dropped to stop the timer early.
    stop: Option<mpsc::Sender<()>>,
    timer: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Interrupts `store`'s wasm after `limit`: the engine must have
    /// `Config::epoch_interruption`. Sets the store's deadline to the next epoch.
    pub fn start<T>(store: &mut strata::Store<T>, limit: Duration) -> Watchdog {
        store.set_epoch_deadline(1);
        let engine = store.engine().clone();
        let (stop, stopped) = mpsc::channel::<()>();
        let timer = std::thread::Builder::new()
            .name("strata-watchdog".into())
            .spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(limit) {
                    engine.increment_epoch();
                }
            })
            .ok();
        Watchdog {
            stop: Some(stop),
            timer,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.timer.take() {
            let _ = t.join();
        }
    }
}

/// Parses a time limit in seconds (`2`, `0.5`), for `--timeout`.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected a number of seconds, got `{s}`"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!("expected a positive number of seconds, got `{s}`"));
    }
    Ok(Duration::from_secs_f64(secs))
}
