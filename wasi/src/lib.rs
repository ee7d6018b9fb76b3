//! WASI preview1 (`wasi_snapshot_preview1`) for Strata: enough for C programs built with
//! wasi-libc (clang `--target=wasm32-wasi`) to run unmodified. The `strata run` command is one
//! user of this crate; embedders are others.
//!
//! * [`WasiCtx`] holds a program's arguments, environment and descriptors; a
//!   [`WasiCtxBuilder`] makes one (args, env, preopened directories, stdio inherited from the
//!   host, read from bytes, captured in a buffer, or closed).
//! * [`add_to_linker`] defines every preview1 function in a [`Linker`] over the `WasiCtx`
//!   inside the store's host state; [`add_to_imports`] does the same for one module's
//!   [`Imports`] over a shared context.
//! * Functions this runtime does not implement (sockets) are defined as stubs returning
//!   `ENOSYS`; [`define_unknown_as_enosys`] does the same for names a module imports that are
//!   not in preview1, so linking never fails on them.
//! * The calls themselves live in `fd_ops` (descriptors), `path_ops` (paths), `sys`
//!   (arguments, clocks, random, poll); `fs` is the descriptor table and the sandbox, `mem`
//!   the bounds-checked guest memory, `types` the ABI, `pipe` the in-memory streams.
//!
//! Errors are WASI errno values; a bad guest pointer is `EFAULT`, never a host panic.
//! `proc_exit` ends the program with [`Trap::exit`]; the status is
//! [`RuntimeError::exit_status`](strata::RuntimeError::exit_status).
//!
//! ```
//! use strata::{Engine, Linker, Module, Store};
//! use strata_wasi::{OutputPipe, WasiCtx};
//! let engine = Engine::default();
//! let mut linker = Linker::<WasiCtx>::new(&engine);
//! strata_wasi::add_to_linker(&mut linker, |ctx| ctx).unwrap();
//! let stdout = OutputPipe::new(1 << 20);
//! let ctx = WasiCtx::builder().arg("hello").stdout(stdout.clone()).build().unwrap();
//! let module = Module::new(&engine, r#"(module
//!     (import "wasi_snapshot_preview1" "fd_write"
//!       (func $fd_write (param i32 i32 i32 i32) (result i32)))
//!     (memory (export "memory") 1)
//!     (data (i32.const 16) "hi\n")
//!     (func (export "_start")
//!       (i32.store (i32.const 0) (i32.const 16))
//!       (i32.store (i32.const 4) (i32.const 3))
//!       (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#)
//!     .unwrap();
//! let mut store = Store::with_data(&engine, ctx);
//! let instance = linker.instantiate(&mut store, &module).unwrap();
//! let start = instance.get_typed_func::<(), ()>(&store, "_start").unwrap();
//! start.call(&mut store, ()).unwrap();
//! assert_eq!(stdout.contents(), b"hi\n");
//! ```

#![warn(missing_docs)]

mod fd_ops;
mod fs;
mod mem;
mod path_ops;
pub mod pipe;
mod sys;
mod types;

use fs::{Dir, FdEntry, FdTable, Handle, Stdio};
use mem::GuestMemory;
pub use pipe::{InputPipe, OutputPipe, Pipe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use strata::{
    AsStoreMut, Caller, Error, Extern, ExternType, Func, FuncType, Imports, Linker, Module, Trap,
    Val, ValType,
};
use types::{rights, Errno};

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// A program's view of the world: arguments, environment, descriptors.
#[derive(Debug, Default)]
pub struct WasiCtx {
    args: Vec<Vec<u8>>,
    env: Vec<Vec<u8>>,
    fds: FdTable,
    random: Option<std::fs::File>,
    /// Set by [`WasiCtxBuilder::deterministic`]: random bytes and clock readings come from
    /// here instead of the host.
    replay: Option<Deterministic>,
}

/// A world that repeats: a pseudo-random stream from a seed and a clock that starts at zero
/// and advances a fixed step at every reading, so two runs of a program see the same.
#[derive(Debug, Clone)]
pub(crate) struct Deterministic {
    state: u64,
    now_ns: u64,
}

impl Deterministic {
    /// Each reading of a clock is this much later than the one before (1 ms).
    pub(crate) const CLOCK_STEP_NS: u64 = 1_000_000;

    /// The next 8 pseudo-random bytes (splitmix64).
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The time of this reading; every clock shares it.
    pub(crate) fn tick(&mut self) -> u64 {
        self.now_ns = self.now_ns.saturating_add(Self::CLOCK_STEP_NS);
        self.now_ns
    }
}

impl WasiCtx {
    /// A context with `args` (`args[0]` is the program name) and environment variables
    /// `env`, the host's standard streams and nothing else open (what `strata run` gives a
    /// program before its `--dir`s).
    pub fn new(args: Vec<Vec<u8>>, env: Vec<(Vec<u8>, Vec<u8>)>) -> WasiCtx {
        WasiCtx {
            args,
            env: env
                .into_iter()
                .map(|(k, v)| [k, b"=".to_vec(), v].concat())
                .collect(),
            ..WasiCtx::default()
        }
    }

    /// A builder for a context that starts with nothing: no arguments, no environment, no
    /// directories, and standard streams that read end-of-file and discard writes.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::default()
    }

    /// Preopens the host directory `host` under the guest name `guest`; returns its
    /// descriptor (the first is 3).
    pub fn preopen_dir(&mut self, host: &Path, guest: &str) -> std::io::Result<u32> {
        let path = host.canonicalize()?;
        if !path.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        self.fds
            .insert(FdEntry {
                handle: Handle::Dir(Dir::new(path)),
                rights_base: rights::DIRECTORY,
                rights_inheriting: rights::ALL,
                flags: 0,
                preopen: Some(guest.as_bytes().to_vec()),
            })
            .map_err(|e| std::io::Error::other(format!("WASI errno {}", e.0)))
    }
}

/// Where a standard stream of a [`WasiCtxBuilder`] goes.
#[derive(Clone, Debug)]
enum StdioSpec {
    Inherit,
    Pipe(Pipe),
}

/// Builds a [`WasiCtx`] (wasmtime's `WasiCtxBuilder`): arguments, environment, preopened
/// directories and standard streams. Nothing of the host is visible unless asked for.
#[derive(Clone, Debug)]
pub struct WasiCtxBuilder {
    args: Vec<Vec<u8>>,
    env: Vec<(Vec<u8>, Vec<u8>)>,
    preopens: Vec<(PathBuf, String)>,
    stdio: [StdioSpec; 3],
    deterministic: Option<u64>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            preopens: Vec::new(),
            stdio: [
                StdioSpec::Pipe(Pipe::Null),
                StdioSpec::Pipe(Pipe::Null),
                StdioSpec::Pipe(Pipe::Null),
            ],
            deterministic: None,
        }
    }
}

impl WasiCtxBuilder {
    /// Appends one argument (the first is the program name, `argv[0]`).
    pub fn arg(&mut self, arg: impl AsRef<[u8]>) -> &mut Self {
        self.args.push(arg.as_ref().to_vec());
        self
    }

    /// Appends arguments.
    pub fn args<A: AsRef<[u8]>>(&mut self, args: impl IntoIterator<Item = A>) -> &mut Self {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// The host process's own arguments.
    pub fn inherit_args(&mut self) -> &mut Self {
        use std::os::unix::ffi::OsStringExt;
        self.args(std::env::args_os().map(OsStringExt::into_vec))
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.env
            .push((key.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// The host process's whole environment.
    pub fn inherit_env(&mut self) -> &mut Self {
        use std::os::unix::ffi::OsStringExt;
        for (k, v) in std::env::vars_os() {
            self.env.push((k.into_vec(), v.into_vec()));
        }
        self
    }

    /// Makes the host directory `host` visible to the guest as `guest` (and everything below
    /// it, nothing above: see the `fs` module's sandbox). Descriptors are given in order from
    /// 3. The directory is opened by [`build`](Self::build).
    pub fn preopened_dir(&mut self, host: impl AsRef<Path>, guest: &str) -> &mut Self {
        self.preopens
            .push((host.as_ref().to_path_buf(), guest.to_string()));
        self
    }

    /// The guest's stdin reads `pipe`.
    pub fn stdin(&mut self, pipe: InputPipe) -> &mut Self {
        self.stdio[0] = StdioSpec::Pipe(Pipe::Input(pipe));
        self
    }

    /// The guest's stdout goes into `pipe`.
    pub fn stdout(&mut self, pipe: OutputPipe) -> &mut Self {
        self.stdio[1] = StdioSpec::Pipe(Pipe::Output(pipe));
        self
    }

    /// The guest's stderr goes into `pipe`.
    pub fn stderr(&mut self, pipe: OutputPipe) -> &mut Self {
        self.stdio[2] = StdioSpec::Pipe(Pipe::Output(pipe));
        self
    }

    /// The guest uses the host process's stdin.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdio[0] = StdioSpec::Inherit;
        self
    }

    /// The guest writes to the host process's stdout.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdio[1] = StdioSpec::Inherit;
        self
    }

    /// The guest writes to the host process's stderr.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stdio[2] = StdioSpec::Inherit;
        self
    }

    /// `random_get` gives a fixed pseudo-random sequence from `seed`, and every clock reads
    /// 1 ms later than the reading before, starting at zero: two runs of the same program see
    /// the same world (what a differential test needs; a program that measures time sees a
    /// clock that runs only when read).
    pub fn deterministic(&mut self, seed: u64) -> &mut Self {
        self.deterministic = Some(seed);
        self
    }

    /// All three standard streams are the host process's.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// The context; fails when a preopened directory cannot be opened (the error names it).
    pub fn build(&self) -> std::io::Result<WasiCtx> {
        let mut ctx = WasiCtx::new(self.args.clone(), self.env.clone());
        ctx.replay = self
            .deterministic
            .map(|state| Deterministic { state, now_ns: 0 });
        for (spec, s) in self.stdio.iter().zip([Stdio::In, Stdio::Out, Stdio::Err]) {
            if let StdioSpec::Pipe(p) = spec {
                ctx.fds.set_stdio(s, p.clone());
            }
        }
        for (host, guest) in &self.preopens {
            ctx.preopen_dir(host, guest)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", host.display())))?;
        }
        Ok(ctx)
    }
}

/// The arguments of one call, as the engine passed them (types are checked at link time).
pub(crate) struct Params<'a>(&'a [Val]);

impl Params<'_> {
    fn u32(&self, i: usize) -> u32 {
        match self.0.get(i) {
            Some(Val::I32(v)) => *v as u32,
            _ => 0,
        }
    }
    fn u64(&self, i: usize) -> u64 {
        match self.0.get(i) {
            Some(Val::I64(v)) => *v as u64,
            _ => 0,
        }
    }
    fn i64(&self, i: usize) -> i64 {
        self.u64(i) as i64
    }
}

type Syscall = fn(&mut WasiCtx, &mut GuestMemory<'_>, &Params<'_>) -> Result<(), Errno>;

const I: ValType = ValType::I32;
const L: ValType = ValType::I64;

/// Every implemented function (all return an errno as i32), with its parameter types.
const SYSCALLS: &[(&str, &[ValType], Syscall)] = &[
    ("args_get", &[I, I], sys::args_get),
    ("args_sizes_get", &[I, I], sys::args_sizes_get),
    ("environ_get", &[I, I], sys::environ_get),
    ("environ_sizes_get", &[I, I], sys::environ_sizes_get),
    ("clock_res_get", &[I, I], sys::clock_res_get),
    ("clock_time_get", &[I, L, I], sys::clock_time_get),
    ("random_get", &[I, I], sys::random_get),
    ("poll_oneoff", &[I, I, I, I], sys::poll_oneoff),
    ("sched_yield", &[], sys::sched_yield),
    ("proc_raise", &[I], sys::proc_raise),
    ("fd_advise", &[I, L, L, I], fd_ops::fd_advise),
    ("fd_allocate", &[I, L, L], fd_ops::fd_allocate),
    ("fd_close", &[I], fd_ops::fd_close),
    ("fd_datasync", &[I], fd_ops::fd_datasync),
    ("fd_fdstat_get", &[I, I], fd_ops::fd_fdstat_get),
    ("fd_fdstat_set_flags", &[I, I], fd_ops::fd_fdstat_set_flags),
    (
        "fd_fdstat_set_rights",
        &[I, L, L],
        fd_ops::fd_fdstat_set_rights,
    ),
    ("fd_filestat_get", &[I, I], fd_ops::fd_filestat_get),
    (
        "fd_filestat_set_size",
        &[I, L],
        fd_ops::fd_filestat_set_size,
    ),
    (
        "fd_filestat_set_times",
        &[I, L, L, I],
        fd_ops::fd_filestat_set_times,
    ),
    ("fd_pread", &[I, I, I, L, I], fd_ops::fd_pread),
    ("fd_prestat_get", &[I, I], fd_ops::fd_prestat_get),
    (
        "fd_prestat_dir_name",
        &[I, I, I],
        fd_ops::fd_prestat_dir_name,
    ),
    ("fd_pwrite", &[I, I, I, L, I], fd_ops::fd_pwrite),
    ("fd_read", &[I, I, I, I], fd_ops::fd_read),
    ("fd_readdir", &[I, I, I, L, I], fd_ops::fd_readdir),
    ("fd_renumber", &[I, I], fd_ops::fd_renumber),
    ("fd_seek", &[I, L, I, I], fd_ops::fd_seek),
    ("fd_sync", &[I], fd_ops::fd_sync),
    ("fd_tell", &[I, I], fd_ops::fd_tell),
    ("fd_write", &[I, I, I, I], fd_ops::fd_write),
    (
        "path_create_directory",
        &[I, I, I],
        path_ops::path_create_directory,
    ),
    (
        "path_filestat_get",
        &[I, I, I, I, I],
        path_ops::path_filestat_get,
    ),
    (
        "path_filestat_set_times",
        &[I, I, I, I, L, L, I],
        path_ops::path_filestat_set_times,
    ),
    ("path_link", &[I, I, I, I, I, I, I], path_ops::path_link),
    (
        "path_open",
        &[I, I, I, I, I, L, L, I, I],
        path_ops::path_open,
    ),
    (
        "path_readlink",
        &[I, I, I, I, I, I],
        path_ops::path_readlink,
    ),
    (
        "path_remove_directory",
        &[I, I, I],
        path_ops::path_remove_directory,
    ),
    ("path_rename", &[I, I, I, I, I, I], path_ops::path_rename),
    ("path_symlink", &[I, I, I, I, I], path_ops::path_symlink),
    ("path_unlink_file", &[I, I, I], path_ops::path_unlink_file),
];

/// The preview1 functions this runtime does not implement (sockets): they return `ENOSYS`.
const UNIMPLEMENTED: &[(&str, &[ValType])] = &[
    ("sock_accept", &[I, I, I]),
    ("sock_recv", &[I, I, I, I, I, I]),
    ("sock_send", &[I, I, I, I, I]),
    ("sock_shutdown", &[I, I]),
];

/// How a host function reaches the `WasiCtx`: in the store's host state, or shared.
type CtxAccess<T> = Arc<dyn Fn(&mut T, &mut dyn FnMut(&mut WasiCtx)) + Send + Sync>;

/// The host function for one call over the context `access` finds.
fn syscall_fn<T: 'static>(
    call: Syscall,
    access: CtxAccess<T>,
) -> impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static {
    move |mut caller, args, results| {
        let memory = caller.get_export("memory").and_then(Extern::into_memory);
        let (data, state): (&mut [u8], &mut T) = match memory {
            Some(m) => m.data_and_store_mut(&mut caller),
            None => (&mut [], caller.data_mut()),
        };
        let mut mem = GuestMemory::new(data);
        let mut errno = 0;
        access(state, &mut |ctx| {
            errno = match call(ctx, &mut mem, &Params(args)) {
                Ok(()) => 0,
                Err(e) => e.0,
            };
        });
        if let Some(r) = results.first_mut() {
            *r = Val::I32(i32::from(errno));
        }
        Ok(())
    }
}

/// `proc_exit(code)`: ends the program; the embedder reads the status from the trap.
fn proc_exit<T>(_: Caller<'_, T>, args: &[Val], _: &mut [Val]) -> Result<(), Trap> {
    let status = match args.first() {
        Some(Val::I32(v)) => *v,
        _ => 0,
    };
    Err(Trap::exit(status))
}

/// A function that does nothing and returns `ENOSYS` (when its first result is an i32, as
/// every preview1 function's is).
fn enosys<T>(_: Caller<'_, T>, _: &[Val], results: &mut [Val]) -> Result<(), Trap> {
    if let Some(r @ Val::I32(_)) = results.first_mut() {
        *r = Val::I32(i32::from(Errno::NOSYS.0));
    }
    Ok(())
}

fn errno_type(params: &[ValType]) -> FuncType {
    FuncType::new(params.iter().copied(), [ValType::I32])
}

/// Defines every WASI preview1 function in `linker`, over the `WasiCtx` that `get` finds in
/// the store's host state (`|ctx| ctx` when the state is the context itself). Fails when one
/// of the names is already defined and the linker does not allow shadowing.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + 'static,
) -> Result<(), Error> {
    let access: CtxAccess<T> = Arc::new(move |state, f| f(get(state)));
    for (name, params, call) in SYSCALLS {
        linker.func_new(
            MODULE,
            name,
            errno_type(params),
            syscall_fn(*call, access.clone()),
        )?;
    }
    linker.func_new(
        MODULE,
        "proc_exit",
        FuncType::new([ValType::I32], []),
        proc_exit,
    )?;
    for (name, params) in UNIMPLEMENTED {
        linker.func_new(MODULE, name, errno_type(params), enosys)?;
    }
    Ok(())
}

/// Defines each function `module` imports from `wasi_snapshot_preview1` that `linker` does
/// not define (a name outside preview1) as an `ENOSYS` stub of the declared type, so that a
/// program linked against a newer or extended WASI still runs as far as it can.
pub fn define_unknown_as_enosys<T: 'static>(
    linker: &mut Linker<T>,
    module: &Module,
) -> Result<(), Error> {
    for import in module.imports() {
        let ExternType::Func(declared) = &import.ty else {
            continue;
        };
        if import.module == MODULE && !linker.contains(MODULE, &import.name) {
            linker.func_new(MODULE, &import.name, declared.clone(), enosys)?;
        }
    }
    Ok(())
}

/// Defines every function `module` imports from `wasi_snapshot_preview1` in `imports`, over
/// the shared `ctx` (the JS-interface style of the CLI; a [`Linker`] with
/// [`add_to_linker`] keeps the context in the store instead). Names this runtime does not
/// implement are `ENOSYS` stubs. Imports from other modules are left alone (instantiation
/// reports them).
pub fn add_to_imports<T: 'static>(
    mut store: impl AsStoreMut<Data = T>,
    imports: &mut Imports,
    module: &Module,
    ctx: &Arc<Mutex<WasiCtx>>,
) {
    let shared = Arc::clone(ctx);
    let access: CtxAccess<T> =
        Arc::new(move |_, f| f(&mut shared.lock().unwrap_or_else(PoisonError::into_inner)));
    for import in module.imports() {
        if import.module != MODULE {
            continue;
        }
        let ExternType::Func(declared) = &import.ty else {
            continue;
        };
        let func = if import.name == "proc_exit" {
            Func::new(&mut store, FuncType::new([ValType::I32], []), proc_exit)
        } else if let Some((_, params, call)) = SYSCALLS.iter().find(|(n, _, _)| *n == import.name)
        {
            Func::new(
                &mut store,
                errno_type(params),
                syscall_fn(*call, access.clone()),
            )
        } else {
            Func::new(&mut store, declared.clone(), enosys)
        };
        imports.define(MODULE, &import.name, func);
    }
}
