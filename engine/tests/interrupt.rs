//! Fuel and epoch interruption (design.md §13) on every registered configuration
//! (`strata::conformance`): the same fuel count and the same trap at the same point in every
//! tier, mixes of tiers and OSR; epochs stop infinite loops in every tier.

use std::sync::mpsc;
use std::time::{Duration, Instant};
use strata::conformance::{configurations, NamedConfig};
use strata::*;

/// Interruption points: one per function entry, one per arrival at a loop header.
/// `run n` = 1 (entry) + per outer iteration: 1 (header) + 1 (`$leaf`) + 1 (`$inner` entry)
/// + 3 (inner headers: the loop runs 3 times) + 3 (`$leaf` in it) + 1 (`call_indirect`).
const PROGRAM: &str = r#"(module
  (global $steps (export "steps") (mut i32) (i32.const 0))
  (table 1 funcref)
  (elem (i32.const 0) $leaf)
  (type $v (func))
  (func $leaf
    global.get $steps i32.const 1 i32.add global.set $steps)
  (func $inner (local i32)
    i32.const 3 local.set 0
    loop $l
      call $leaf
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if $l
    end)
  (func (export "run") (param $n i32) (result i32)
    block $out
      local.get $n i32.eqz br_if $out
      loop $l
        call $leaf
        call $inner
        i32.const 0 call_indirect (type $v)
        local.get $n i32.const 1 i32.sub local.tee $n
        br_if $l
      end
    end
    global.get $steps)
  (func (export "spin") (loop $l br $l))
  (func $tick)
  (func (export "spin_calls") (loop $l call $tick br $l))
)"#;

/// Points of `run n` (see `PROGRAM`).
fn points(n: u64) -> u64 {
    1 + n * (1 + 1 + 1 + 3 + 3 + 1)
}

struct Inst {
    store: Store,
    instance: Instance,
}

fn inst(config: Config) -> Inst {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    Inst { store, instance }
}

impl Inst {
    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, TrapCode> {
        let f = self.instance.get_func(&self.store, name).unwrap();
        f.call(&mut self.store, args).map_err(|e| match e {
            Error::Runtime(r) => r.code(),
            other => panic!("{name}: not a trap: {other}"),
        })
    }

    fn steps(&self) -> i32 {
        let g = self.instance.get_global(&self.store, "steps").unwrap();
        g.get(&self.store).i32().unwrap()
    }
}

fn fuel_configs() -> Vec<NamedConfig> {
    configurations()
        .into_iter()
        .map(|mut c| {
            c.config = c.config.consume_fuel(true);
            c
        })
        .collect()
}

#[test]
fn fuel_counts_the_same_in_every_configuration() {
    for c in fuel_configs() {
        for n in [0u64, 1, 7, 300] {
            let mut i = inst(c.config.clone());
            i.store.set_fuel(1_000_000).unwrap();
            let r = i.call("run", &[Val::I32(n as i32)]);
            assert_eq!(r, Ok(vec![Val::I32(5 * n as i32)]), "{}: run {n}", c.name);
            let used = 1_000_000 - i.store.get_fuel().unwrap();
            assert_eq!(used, points(n), "{}: fuel of run {n}", c.name);
        }
    }
}

#[test]
fn running_out_traps_at_the_same_point_in_every_configuration() {
    let n = 50u64;
    let total = points(n);
    // Budgets ending at each kind of point: function entries, loop headers, indirect calls.
    let budgets: Vec<u64> = (0..24).chain([total / 2, total - 2, total - 1]).collect();
    let mut reference: Vec<i32> = Vec::new();
    for (k, c) in fuel_configs().into_iter().enumerate() {
        let mut seen = Vec::new();
        for &fuel in &budgets {
            let mut i = inst(c.config.clone());
            i.store.set_fuel(fuel).unwrap();
            assert_eq!(
                i.call("run", &[Val::I32(n as i32)]),
                Err(TrapCode::OutOfFuel),
                "{}: fuel {fuel}",
                c.name
            );
            assert_eq!(i.store.get_fuel().unwrap(), 0, "{}", c.name);
            seen.push(i.steps());
            // The store stays usable.
            i.store.set_fuel(total).unwrap();
            assert!(i.call("run", &[Val::I32(n as i32)]).is_ok(), "{}", c.name);
        }
        // Exactly enough fuel succeeds.
        let mut i = inst(c.config.clone());
        i.store.set_fuel(total).unwrap();
        assert!(i.call("run", &[Val::I32(n as i32)]).is_ok(), "{}", c.name);
        assert_eq!(i.store.get_fuel().unwrap(), 0, "{}", c.name);
        if k == 0 {
            reference = seen;
        } else {
            assert_eq!(seen, reference, "{}: state at the trap", c.name);
        }
    }
}

#[test]
fn fuel_is_an_error_when_not_enabled() {
    let mut i = inst(Config::default());
    assert!(i.store.set_fuel(10).is_err());
    assert!(i.store.get_fuel().is_err());
    assert_eq!(i.call("run", &[Val::I32(3)]), Ok(vec![Val::I32(15)]));
}

/// Runs `export` on a thread until the engine's epoch passes the deadline, bumped from here
/// after a while; returns the trap and the time from the bump to the trap.
fn interrupt_latency(
    config: Config,
    export: &'static str,
) -> (Result<Vec<Val>, TrapCode>, Duration) {
    let engine = Engine::new(config).unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let e = engine.clone();
    let runner = std::thread::spawn(move || {
        let module = Module::new(&e, PROGRAM).unwrap();
        let mut store = Store::new(&e);
        store.set_epoch_deadline(1);
        let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
        let f = instance.get_func(&store, export).unwrap();
        started_tx.send(()).unwrap();
        let r = f.call(&mut store, &[]).map_err(|e| match e {
            Error::Runtime(r) => r.code(),
            other => panic!("{export}: not a trap: {other}"),
        });
        done_tx.send(Instant::now()).unwrap();
        r
    });
    started_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let bumped = Instant::now();
    engine.increment_epoch();
    let done = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the loop was not interrupted");
    (
        runner.join().unwrap(),
        done.saturating_duration_since(bumped),
    )
}

#[test]
fn epochs_stop_infinite_loops_in_every_configuration() {
    for c in configurations() {
        let config = c.config.clone().epoch_interruption(true);
        for export in ["spin", "spin_calls"] {
            // The machine is shared: the best of up to ten measures the engine, not the
            // scheduler (on a loaded 2-core machine three tries all came back late).
            let mut best = Duration::MAX;
            for _ in 0..10 {
                let (r, latency) = interrupt_latency(config.clone(), export);
                assert_eq!(r, Err(TrapCode::Interrupt), "{}: {export}", c.name);
                best = best.min(latency);
                if best < Duration::from_millis(10) {
                    break;
                }
            }
            assert!(
                best < Duration::from_millis(10),
                "{}: {export} stopped {best:?} after the deadline",
                c.name
            );
        }
    }
}

#[test]
fn epoch_deadlines_are_per_store_and_renewable() {
    let engine = Engine::new(Config::default().epoch_interruption(true)).unwrap();
    let module = Module::new(&engine, PROGRAM).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let run = instance.get_func(&store, "run").unwrap();
    // No deadline: never interrupted.
    engine.increment_epoch();
    assert!(run.call(&mut store, &[Val::I32(10)]).is_ok());
    // A deadline already reached traps at the first point.
    store.set_epoch_deadline(0);
    let e = run.call(&mut store, &[Val::I32(10)]).unwrap_err();
    assert!(
        matches!(&e, Error::Runtime(r) if r.code() == TrapCode::Interrupt),
        "{e}"
    );
    // A new deadline makes the store usable again.
    store.set_epoch_deadline(1);
    assert!(run.call(&mut store, &[Val::I32(10)]).is_ok());
    engine.increment_epoch();
    assert!(run.call(&mut store, &[Val::I32(10)]).is_err());
}

/// The optimizing tier emits the checks itself: with fuel or epochs on, every function of an
/// `--tier opt` module runs opt code (none falls back to the baseline), and counts the same
/// (`fuel_counts_the_same_in_every_configuration` runs the opt configurations too).
#[test]
fn opt_code_runs_with_fuel_and_epochs_on() {
    use strata_vm::tiering::LEVEL_OPT;
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        for (fuel, epoch) in [(true, false), (false, true), (true, true)] {
            let config = Config::default()
                .tier(Tier::Opt)
                .bounds_checks(bounds)
                .consume_fuel(fuel)
                .epoch_interruption(epoch);
            let mut i = inst(config);
            if fuel {
                i.store.set_fuel(1_000_000).unwrap();
            }
            if epoch {
                i.store.set_epoch_deadline(1);
            }
            assert_eq!(i.call("run", &[Val::I32(7)]), Ok(vec![Val::I32(35)]));
            let env = i.instance.module(&i.store);
            for d in 0..env.num_defined_funcs() as u32 {
                assert_eq!(
                    strata_tiers::tier::ready_level(&env, d),
                    LEVEL_OPT,
                    "function {d} fell back to the baseline ({bounds:?}, fuel {fuel}, epoch {epoch})"
                );
            }
        }
    }
}
