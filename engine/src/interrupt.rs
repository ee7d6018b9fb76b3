//! Fuel and epoch interruption, as the embedder sees them (design.md §13; the checks
//! themselves are `strata_vm::interrupt` and each tier's). Kept apart from `store.rs` and
//! `config.rs` so each concern stays in one place.

use crate::config::Engine;
use crate::error::ConfigError;
use crate::store::Store;
use std::sync::atomic::Ordering;
use strata_vm::StoreInner;

/// Points a new store's runtime at its engine's epoch counter (the store keeps the engine,
/// and with it the counter, alive).
pub(crate) fn attach(engine: &Engine, inner: &mut StoreInner) {
    inner.runtime.epoch = std::sync::Arc::as_ptr(&engine.epoch);
}

impl Engine {
    /// Advances the epoch by one: every store of this engine whose deadline it reaches traps
    /// "interrupt" at its next interruption point (function entry or loop header). Cheap and
    /// callable from any thread, e.g. a timer.
    pub fn increment_epoch(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// The current epoch (0 when the engine is made).
    pub fn current_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Relaxed)
    }
}

impl<T> Store<T> {
    /// Sets the fuel left: that many interruption points (function entries and loop
    /// iterations) may pass before "all fuel consumed by WebAssembly". A store starts with
    /// none. Errors when the engine was not configured with `Config::consume_fuel`.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<(), ConfigError> {
        self.fuel_enabled()?;
        self.inner.runtime.set_fuel(fuel);
        Ok(())
    }

    /// The fuel left (0 after running out).
    pub fn get_fuel(&self) -> Result<u64, ConfigError> {
        self.fuel_enabled()?;
        Ok(self.inner.runtime.fuel_left())
    }

    fn fuel_enabled(&self) -> Result<(), ConfigError> {
        if self.engine.config().consume_fuel {
            Ok(())
        } else {
            Err(ConfigError(
                "fuel is not enabled: use `Config::consume_fuel(true)`".into(),
            ))
        }
    }

    /// Sets the deadline `ticks` epochs after the engine's current one: wasm running in this
    /// store traps "interrupt" once `Engine::increment_epoch` has been called that many times.
    /// Without a deadline a store never traps. Has effect only with
    /// `Config::epoch_interruption`.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        let now = self.engine.current_epoch();
        self.inner.runtime.epoch_deadline = now.saturating_add(ticks);
    }
}
