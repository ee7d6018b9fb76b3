//! WASI as a library: a context built in Rust, added to a linker, with the sandbox, stdio
//! capture and descriptor checks the CLI relies on.

use std::fs;
use std::path::{Path, PathBuf};
use strata::{Engine, Error, Linker, Module, Store, Val};
use strata_wasi::{InputPipe, OutputPipe, WasiCtx, WasiCtxBuilder};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("strata-wasi-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

struct Run {
    store: Store<WasiCtx>,
    instance: strata::Instance,
}

fn instantiate(file: &str, ctx: WasiCtx) -> Run {
    let engine = Engine::default();
    let module = Module::from_file(&engine, data(file)).unwrap();
    let mut linker = Linker::new(&engine);
    strata_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
    let mut store = Store::with_data(&engine, ctx);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    Run { store, instance }
}

/// Runs `_start`; the status of `proc_exit`, 0 when it returns.
fn start(run: &mut Run) -> i32 {
    let start = run.instance.get_func(&run.store, "_start").unwrap();
    match start.call(&mut run.store, &[]) {
        Ok(_) => 0,
        Err(Error::Runtime(e)) => e.exit_status().unwrap_or_else(|| panic!("trap: {e}")),
        Err(e) => panic!("{e}"),
    }
}

fn builder_with(stdout: &OutputPipe) -> WasiCtxBuilder {
    let mut b = WasiCtx::builder();
    b.stdout(stdout.clone());
    b
}

#[test]
fn args_and_environment_are_only_those_given() {
    let out = OutputPipe::new(1 << 16);
    let ctx = builder_with(&out)
        .args(["prog", "a b", "ü"])
        .env("ONLY", "this")
        .build()
        .unwrap();
    let mut run = instantiate("echo_args.wat", ctx);
    assert_eq!(start(&mut run), 3);
    assert_eq!(
        String::from_utf8(out.contents()).unwrap(),
        "prog\na b\nü\nONLY=this\n"
    );
}

#[test]
fn stdin_from_bytes_and_descriptor_checks() {
    let out = OutputPipe::new(1 << 16);
    let text = "a line longer than one read\nand another\n";
    let ctx = builder_with(&out)
        .stdin(InputPipe::new(text))
        .build()
        .unwrap();
    let mut run = instantiate("stdin_echo.wat", ctx);
    assert_eq!(start(&mut run), 0);
    assert_eq!(out.contents(), text.as_bytes());
}

#[test]
fn default_stdio_is_closed_to_the_host() {
    // Nothing to read, writes discarded: the program still runs to the end.
    let ctx = WasiCtx::builder().build().unwrap();
    let mut run = instantiate("stdin_echo.wat", ctx);
    assert_eq!(start(&mut run), 0);
}

#[test]
fn captured_output_is_bounded() {
    let out = OutputPipe::new(10);
    let ctx = builder_with(&out)
        .stdin(InputPipe::new(vec![b'x'; 100]))
        .build()
        .unwrap();
    let mut run = instantiate("stdin_echo.wat", ctx);
    assert_eq!(start(&mut run), 0);
    assert_eq!(out.contents(), [b'x'; 10]);
}

#[test]
fn sandbox_refuses_paths_that_leave_the_preopened_directory() {
    let t = TempDir::new("sandbox");
    let root = t.0.join("root");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(t.0.join("outside"), "secret\n").unwrap();
    fs::write(root.join("inside.txt"), "inside\n").unwrap();
    std::os::unix::fs::symlink("../outside", root.join("escape")).unwrap();

    let out = OutputPipe::new(1 << 16);
    let ctx = builder_with(&out)
        .preopened_dir(&root, "/sandbox")
        .build()
        .unwrap();
    let mut run = instantiate("sandbox.wat", ctx);
    let cat = run.instance.get_func(&run.store, "cat").unwrap();
    let mut call = |ptr: i32, len: i32| {
        cat.call(&mut run.store, &[Val::I32(ptr), Val::I32(len)])
            .unwrap()[0]
            .i32()
            .unwrap()
    };
    // A path inside works.
    assert_eq!(call(384, 10), 0);
    assert_eq!(out.contents(), b"inside\n");
    // `..` above the root, an absolute path, `..` after a subdirectory, and a symbolic link
    // out of the sandbox are all ENOTCAPABLE (76), and nothing of the secret is read.
    for (ptr, len) in [(256, 10), (288, 11), (320, 17), (352, 6)] {
        assert_eq!(call(ptr, len), 76, "path at {ptr}");
    }
    assert_eq!(out.contents(), b"inside\n");

    // Without a preopened directory there is no descriptor 3 at all: EBADF.
    let mut run = instantiate("sandbox.wat", WasiCtx::builder().build().unwrap());
    let cat = run.instance.get_func(&run.store, "cat").unwrap();
    let r = cat
        .call(&mut run.store, &[Val::I32(384), Val::I32(10)])
        .unwrap();
    assert_eq!(r, [Val::I32(8)]);
}

#[test]
fn a_missing_or_special_preopened_directory_is_an_error_naming_it() {
    for path in ["/definitely/not/here", "/dev/zero"] {
        let err = WasiCtx::builder()
            .preopened_dir(path, "x")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains(path), "{err}");
    }
}

/// 8,192 iovecs over the same 1 MiB: a bad descriptor fails first with EBADF; a write that
/// succeeds is capped at u32::MAX in total (a discarding stream), or stops where a bounded
/// capture is full, with the progress reported rather than an error.
#[test]
fn overlapping_iovecs_are_bounded() {
    let call = |run: &mut Run, name: &str, args: &[Val]| -> u32 {
        let f = run.instance.get_func(&run.store, name).unwrap();
        f.call(&mut run.store, args).unwrap()[0].i32().unwrap() as u32
    };
    let mut run = instantiate(
        "overlapping_iovecs.wat",
        WasiCtx::builder().build().unwrap(),
    );
    assert_eq!(call(&mut run, "write", &[Val::I32(99)]), 8); // EBADF
    assert_eq!(call(&mut run, "write", &[Val::I32(2)]), 0);
    assert_eq!(call(&mut run, "nwritten", &[]), u32::MAX);

    let err = OutputPipe::new(3 << 20);
    let ctx = WasiCtx::builder().stderr(err.clone()).build().unwrap();
    let mut run = instantiate("overlapping_iovecs.wat", ctx);
    assert_eq!(call(&mut run, "write", &[Val::I32(2)]), 0);
    assert_eq!(call(&mut run, "nwritten", &[]), 3 << 20);
    assert_eq!(err.contents().len(), 3 << 20);
    // Full: now the write itself fails.
    assert_eq!(call(&mut run, "write", &[Val::I32(2)]), 51); // ENOSPC
}

#[test]
fn guest_pointers_outside_memory_are_efault() {
    let mut run = instantiate("sandbox.wat", WasiCtx::builder().build().unwrap());
    let f = run.instance.get_func(&run.store, "bad_pointer").unwrap();
    assert_eq!(f.call(&mut run.store, &[]).unwrap(), [Val::I32(21)]);
}

#[test]
fn names_outside_preview1_link_as_enosys_only_when_asked() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "wasi_snapshot_preview1" "sock_accept"
              (func $accept (param i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "not_in_preview1" (func $other (result i32)))
            (func (export "run") (result i32)
              (i32.add (call $accept (i32.const 0) (i32.const 0) (i32.const 0))
                       (call $other))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    strata_wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx).unwrap();
    let mut store = Store::with_data(&engine, WasiCtx::builder().build().unwrap());
    match linker.instantiate(&mut store, &module) {
        Err(Error::Link(e)) => assert_eq!(e.name, "not_in_preview1"),
        other => panic!("expected a link error, got {other:?}"),
    }
    strata_wasi::define_unknown_as_enosys(&mut linker, &module).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance.get_typed_func::<(), i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 52 + 52); // ENOSYS twice
}

#[test]
fn adding_wasi_twice_is_refused_unless_shadowing_is_allowed() {
    let engine = Engine::default();
    let mut linker = Linker::<WasiCtx>::new(&engine);
    strata_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
    assert!(strata_wasi::add_to_linker(&mut linker, |ctx| ctx).is_err());
    linker.allow_shadowing(true);
    strata_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
}

/// The first 40 bytes of memory after `entropy.wat` ran with `ctx`.
fn entropy(ctx: WasiCtx) -> Vec<u8> {
    let mut run = instantiate("entropy.wat", ctx);
    assert_eq!(start(&mut run), 0);
    let memory = run.instance.get_memory(&run.store, "memory").unwrap();
    memory.data(&run.store)[..40].to_vec()
}

#[test]
fn a_deterministic_context_repeats_random_bytes_and_clock_readings() {
    let seeded = |seed| entropy(WasiCtx::builder().deterministic(seed).build().unwrap());
    let (a, b, other) = (seeded(7), seeded(7), seeded(8));
    assert_eq!(a, b, "the same seed gives the same world");
    assert_ne!(a[..16], other[..16], "another seed gives other bytes");
    let u64_at = |m: &[u8], at: usize| u64::from_le_bytes(m[at..at + 8].try_into().unwrap());
    // The clock starts at zero and moves 1 ms per reading; its resolution says so.
    assert_eq!(u64_at(&a, 16), 1_000_000);
    assert_eq!(u64_at(&a, 24), 2_000_000);
    assert_eq!(u64_at(&a, 32), 1_000_000);
    // The host's world: a real clock, far past zero.
    let host = entropy(WasiCtx::builder().build().unwrap());
    assert!(u64_at(&host, 24) >= u64_at(&host, 16));
    assert_ne!(u64_at(&host, 16), 1_000_000);
}
