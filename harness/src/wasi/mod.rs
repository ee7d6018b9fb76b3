//! WASI preview1 (`wasi_snapshot_preview1`) for `strata run`: enough for C programs built
//! with wasi-libc (clang `--target=wasm32-wasi`) to run unmodified.
//!
//! * [`WasiCtx`] holds a program's arguments, environment and descriptors.
//! * [`add_to_imports`] defines, for each function a module imports from
//!   `wasi_snapshot_preview1`, a host function over that context. Functions this runtime does
//!   not implement (sockets, and any name it does not know) are stubs returning `ENOSYS`, so
//!   linking never fails on them.
//! * The calls themselves live in `fd_ops` (descriptors), `path_ops` (paths), `sys`
//!   (arguments, clocks, random, poll); `fs` is the descriptor table and the sandbox, `mem`
//!   the bounds-checked guest memory, `types` the ABI.
//!
//! Errors are WASI errno values; a bad guest pointer is `EFAULT`, never a host panic.
//! `proc_exit` ends the program with [`Trap::exit`].

mod fd_ops;
pub mod fs;
pub mod mem;
mod path_ops;
mod sys;
pub mod types;

use fs::{Dir, FdEntry, FdTable, Handle};
use mem::GuestMemory;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use strata::{Extern, ExternType, Func, FuncType, Imports, Module, Store, Trap, Val, ValType};
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
}

impl WasiCtx {
    /// A context with `args` (`args[0]` is the program name) and environment variables
    /// `env`, and only the standard streams open.
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

/// The arguments of one call, as the engine passed them (types are checked at link time).
pub struct Params<'a>(&'a [Val]);

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

/// Defines every function `module` imports from `wasi_snapshot_preview1` in `imports`, over
/// the shared `ctx`. Imports from other modules are left alone (instantiation reports them).
pub fn add_to_imports(
    store: &mut Store,
    imports: &mut Imports,
    module: &Module,
    ctx: &Arc<Mutex<WasiCtx>>,
) {
    for import in module.imports() {
        if import.module != MODULE {
            continue;
        }
        let ExternType::Func(declared) = &import.ty else {
            continue;
        };
        let func = if import.name == "proc_exit" {
            proc_exit(store)
        } else if let Some((_, params, call)) = SYSCALLS.iter().find(|(n, _, _)| *n == import.name)
        {
            syscall(store, params, *call, Arc::clone(ctx))
        } else {
            enosys_stub(store, declared.clone())
        };
        imports.define(MODULE, &import.name, func);
    }
}

fn syscall(store: &mut Store, params: &[ValType], call: Syscall, ctx: Arc<Mutex<WasiCtx>>) -> Func {
    let ty = FuncType::new(params.iter().copied(), [ValType::I32]);
    Func::new(store, ty, move |mut caller, args, results| {
        let memory = caller.get_export("memory").and_then(Extern::into_memory);
        let data: &mut [u8] = match memory {
            Some(m) => m.data_mut(&mut caller),
            None => &mut [],
        };
        let mut mem = GuestMemory::new(data);
        let mut ctx = ctx.lock().unwrap_or_else(PoisonError::into_inner);
        let errno = match call(&mut ctx, &mut mem, &Params(args)) {
            Ok(()) => 0,
            Err(e) => e.0,
        };
        if let Some(r) = results.first_mut() {
            *r = Val::I32(i32::from(errno));
        }
        Ok(())
    })
}

/// `proc_exit(code)`: ends the program; the embedder reads the status from the trap.
fn proc_exit(store: &mut Store) -> Func {
    Func::new(store, FuncType::new([ValType::I32], []), |_, args, _| {
        let status = match args.first() {
            Some(Val::I32(v)) => *v,
            _ => 0,
        };
        Err(Trap::exit(status))
    })
}

/// A function of the declared type that does nothing and returns `ENOSYS` (when its first
/// result is an i32, as every preview1 function's is).
fn enosys_stub(store: &mut Store, ty: FuncType) -> Func {
    Func::new(store, ty, |_, _, results| {
        if let Some(r @ Val::I32(_)) = results.first_mut() {
            *r = Val::I32(i32::from(Errno::NOSYS.0));
        }
        Ok(())
    })
}
