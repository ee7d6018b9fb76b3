//! Fuel and epoch interruption (design.md §13; docs/abi.md §7 is what a tier must emit).
//!
//! Both are chosen per engine (`Config::consume_fuel`, `Config::epoch_interruption`) and
//! recorded in each [`Module`](crate::Module) as [`Interrupts`], which every tier reads when it
//! translates or compiles a function: with both off, no tier emits any check (nothing to pay).
//!
//! **Interruption points**: the entry of every wasm function (before its first operator, after
//! the frame is set up) and the header of every `loop` (each time control arrives there: on
//! entering the loop and on every branch back to it). OSR from one tier to another happens on
//! a branch back to a header, before the header's point runs, so the point runs exactly once,
//! in the tier that continues.
//!
//! **Fuel unit**: one unit per interruption point passed. The count depends only on the
//! program's control flow, never on how a tier translates it, so every tier (and every mix of
//! tiers, across OSR) consumes exactly the same fuel for the same execution; and it is one
//! `sub`/`js` pair per function call and loop iteration. The work between two points is
//! bounded by the size of the function's straight-line code, so a budget bounds the work.
//! Running out is [`TrapCode::OutOfFuel`](crate::TrapCode::OutOfFuel).
//!
//! **Epochs**: the engine owns a counter other threads bump (`Engine::increment_epoch`); each
//! store has a deadline. At every point, a tier compares the counter with the deadline and
//! traps with [`TrapCode::Interrupt`](crate::TrapCode::Interrupt) when the counter has reached it.

use crate::trap::TrapCode;
use crate::vmctx::VMRuntime;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which interruption checks the tiers compile in, fixed per engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Interrupts {
    /// Consume one unit of `VMRuntime::fuel` per interruption point.
    pub fuel: bool,
    /// Compare the engine's epoch with `VMRuntime::epoch_deadline` at each point.
    pub epoch: bool,
}

impl Interrupts {
    /// Whether any check is compiled in.
    pub fn any(self) -> bool {
        self.fuel || self.epoch
    }
}

/// The epoch counter of stores that have no engine counter (never bumped).
pub static NO_EPOCH: AtomicU64 = AtomicU64::new(0);

impl VMRuntime {
    /// One interruption point, as the interpreter runs it (JIT tiers emit the same test
    /// inline). Fuel is checked first: it is deterministic, the epoch is not.
    #[inline(always)]
    pub fn interruption_point(&mut self, checks: Interrupts) -> Result<(), TrapCode> {
        if checks.fuel {
            self.consume_fuel()?;
        }
        if checks.epoch {
            self.check_epoch()?;
        }
        Ok(())
    }

    /// The fuel part of a point: one unit.
    #[inline(always)]
    pub fn consume_fuel(&mut self) -> Result<(), TrapCode> {
        self.fuel -= 1;
        if self.fuel < 0 {
            return Err(TrapCode::OutOfFuel);
        }
        Ok(())
    }

    /// The epoch part of a point.
    #[inline(always)]
    pub fn check_epoch(&self) -> Result<(), TrapCode> {
        // SAFETY: `epoch` points at `NO_EPOCH` or at the engine's counter, which the store
        // (and so this runtime) keeps alive.
        let now = unsafe { (*self.epoch).load(Ordering::Relaxed) };
        if now >= self.epoch_deadline {
            return Err(TrapCode::Interrupt);
        }
        Ok(())
    }

    /// Fuel left (0 once a point has run out).
    pub fn fuel_left(&self) -> u64 {
        self.fuel.max(0) as u64
    }

    /// Sets the fuel left, saturating at what the 64-bit signed counter holds.
    pub fn set_fuel(&mut self, fuel: u64) {
        self.fuel = fuel.min(i64::MAX as u64) as i64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuel_runs_out_after_the_budget() {
        let mut rt = VMRuntime::default();
        let on = Interrupts {
            fuel: true,
            epoch: false,
        };
        rt.set_fuel(2);
        assert_eq!(rt.interruption_point(on), Ok(()));
        assert_eq!(rt.interruption_point(on), Ok(()));
        assert_eq!(rt.fuel_left(), 0);
        assert_eq!(rt.interruption_point(on), Err(TrapCode::OutOfFuel));
        assert_eq!(rt.fuel_left(), 0);
        rt.set_fuel(u64::MAX);
        assert_eq!(rt.fuel_left(), i64::MAX as u64);
        // Off: nothing is consumed.
        assert_eq!(rt.interruption_point(Interrupts::default()), Ok(()));
        assert_eq!(rt.fuel_left(), i64::MAX as u64);
    }

    #[test]
    fn epoch_deadline_traps_once_reached() {
        let epoch = AtomicU64::new(5);
        let mut rt = VMRuntime {
            epoch: &epoch,
            epoch_deadline: 6,
            ..VMRuntime::default()
        };
        let on = Interrupts {
            fuel: false,
            epoch: true,
        };
        assert_eq!(rt.interruption_point(on), Ok(()));
        epoch.fetch_add(1, Ordering::Relaxed);
        assert_eq!(rt.interruption_point(on), Err(TrapCode::Interrupt));
        // The default runtime never reaches its deadline.
        let mut rt = VMRuntime::default();
        assert_eq!(rt.interruption_point(on), Ok(()));
    }
}
