//! Embedding Strata the way a wasmtime user would: an engine, a `Linker` with WASI preview1
//! and a host function of our own, host state in the `Store` reached through
//! `Caller::data_mut`, a WASI context with a preopened directory and captured stdout.
//!
//! Run it with `cargo run --release -p strata-wasi --example embed`; `cargo test` runs it too
//! (`test = true` in Cargo.toml).

use std::error::Error;
use std::path::PathBuf;
use strata::{Caller, Engine, Extern, Linker, Module, Store, Trap};
use strata_wasi::{OutputPipe, WasiCtx};

/// The store's host state: the WASI context and what our own host function keeps.
struct State {
    wasi: WasiCtx,
    shouts: u32,
    bytes_shouted: u64,
}

/// What one run of the guest did.
#[derive(Debug)]
struct Outcome {
    returned: i32,
    stdout: Vec<u8>,
    output_file: Vec<u8>,
    shouts: u32,
    bytes_shouted: u64,
}

fn run(dir: &std::path::Path) -> Result<Outcome, Box<dyn Error>> {
    // `Engine::default()` is tiered execution, as `strata run` does; pick a tier with
    // `Engine::new(Config::default().tier(Tier::Baseline))`.
    let engine = Engine::default();
    let module = Module::from_file(
        &engine,
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/embed.wat"),
    )?;

    let mut linker = Linker::<State>::new(&engine);
    strata_wasi::add_to_linker(&mut linker, |state: &mut State| &mut state.wasi)?;
    linker.func_wrap(
        "host",
        "shout",
        |mut caller: Caller<'_, State>, ptr: u32, len: u32| -> Result<u32, Trap> {
            let memory = caller
                .get_export("memory")
                .and_then(Extern::into_memory)
                .ok_or_else(|| Trap::host("the guest exports no memory".to_string()))?;
            let (bytes, state) = memory.data_and_store_mut(&mut caller);
            let text = (ptr as usize)
                .checked_add(len as usize)
                .and_then(|end| bytes.get_mut(ptr as usize..end))
                .ok_or_else(|| Trap::host("shout: buffer outside memory".to_string()))?;
            text.make_ascii_uppercase();
            state.shouts += 1;
            state.bytes_shouted += u64::from(len);
            Ok(len)
        },
    )?;

    let stdout = OutputPipe::new(1 << 20);
    let wasi = WasiCtx::builder()
        .arg("embed")
        .preopened_dir(dir, ".")
        .stdout(stdout.clone())
        .inherit_stderr()
        .build()?;
    let mut store = Store::with_data(
        &engine,
        State {
            wasi,
            shouts: 0,
            bytes_shouted: 0,
        },
    );
    // FUEL: once the `fuel` branch lands, bound the guest here, e.g.
    // `Config::default().consume_fuel(true)` above and `store.set_fuel(1_000_000)?`, and
    // report the fuel left after the call below.

    let instance = linker.instantiate(&mut store, &module)?;
    let entry = instance.get_typed_func::<(), i32>(&store, "run")?;
    let returned = entry.call(&mut store, ())?;

    let state = store.into_data();
    Ok(Outcome {
        returned,
        stdout: stdout.contents(),
        output_file: std::fs::read(dir.join("output.txt"))?,
        shouts: state.shouts,
        bytes_shouted: state.bytes_shouted,
    })
}

/// A scratch directory for the guest, removed afterwards.
fn scratch_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("strata-embed-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("input.txt"), "hello from the host file system\n")?;
    Ok(dir)
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = scratch_dir()?;
    let outcome = run(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = outcome?;
    print!("guest stdout: {}", String::from_utf8_lossy(&outcome.stdout));
    println!(
        "the guest returned {}; the host shouted {} time(s), {} bytes",
        outcome.returned, outcome.shouts, outcome.bytes_shouted
    );
    check(&outcome);
    Ok(())
}

fn check(outcome: &Outcome) {
    let expected = b"HELLO FROM THE HOST FILE SYSTEM\n";
    assert_eq!(outcome.returned, expected.len() as i32);
    assert_eq!(outcome.stdout, expected);
    assert_eq!(outcome.output_file, expected);
    assert_eq!(outcome.shouts, 1);
    assert_eq!(outcome.bytes_shouted, expected.len() as u64);
}

#[test]
fn the_example_runs() {
    main().unwrap();
}
