//! The `path_*` calls. Every path is resolved by [`resolve`] inside the
//! directory descriptor it is relative to.

use super::fd_ops::file_times;
use super::fs::{resolve, Dir, FdEntry, Handle, Resolved};
use super::mem::GuestMemory;
use super::types::{
    fdflags, oflags, rights, Errno, Filestat, FILESTAT_SIZE, LOOKUP_SYMLINK_FOLLOW,
};
use super::{Params, WasiCtx};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;

type Result<T = ()> = std::result::Result<T, Errno>;

/// Reads the guest path at `(ptr, len)` and resolves it inside directory `fd`.
fn resolve_at(
    ctx: &WasiCtx,
    mem: &GuestMemory<'_>,
    fd: u32,
    ptr: u32,
    len: u32,
    follow: bool,
) -> Result<Resolved> {
    let root = ctx.fds.dir_path(fd)?;
    let path = mem.bytes(ptr, len)?;
    resolve(root, path, follow)
}

/// `path_open(fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting, fdflags,
/// opened_fd) -> errno`
///
/// The host access mode follows the rights asked for, as wasi-libc computes them from
/// `O_RDONLY`/`O_WRONLY`/`O_RDWR`: `FD_READ` reads; `FD_WRITE`, `FD_ALLOCATE` or
/// `FD_FILESTAT_SET_SIZE` writes.
pub fn path_open(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, dirflags, path, path_len) = (p.u32(0), p.u32(1), p.u32(2), p.u32(3));
    let (oflags_raw, base, inheriting, fdflags_raw, out) =
        (p.u32(4), p.u64(5), p.u64(6), p.u32(7), p.u32(8));
    mem.check(out, 4)?;
    let oflags = u16::try_from(oflags_raw)
        .ok()
        .filter(|o| o & !oflags::ALL == 0)
        .ok_or(Errno::INVAL)?;
    let fdflags = u16::try_from(fdflags_raw)
        .ok()
        .filter(|f| f & !fdflags::ALL == 0)
        .ok_or(Errno::INVAL)?;
    let dir = ctx.fds.dir(fd)?;
    if base & !dir.rights_inheriting != 0 || inheriting & !dir.rights_inheriting != 0 {
        return Err(Errno::NOTCAPABLE);
    }
    let creat = oflags & oflags::CREAT != 0;
    let excl = oflags & oflags::EXCL != 0;
    let trunc = oflags & oflags::TRUNC != 0;
    let directory = oflags & oflags::DIRECTORY != 0;
    if creat && directory {
        return Err(Errno::INVAL);
    }
    // O_CREAT|O_EXCL never follows a final symbolic link: it must fail with EEXIST.
    let follow = dirflags & LOOKUP_SYMLINK_FOLLOW != 0 && !(creat && excl);
    let resolved = resolve_at(ctx, mem, fd, path, path_len, follow)?;
    let write = base & (rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE) != 0;
    let read = base & rights::FD_READ != 0;

    let handle = match fs::symlink_metadata(&resolved.path) {
        Ok(m) if m.is_dir() => {
            if creat && excl {
                return Err(Errno::EXIST);
            }
            if write || trunc {
                return Err(Errno::ISDIR);
            }
            Handle::Dir(Dir::new(resolved.path))
        }
        Ok(m) if m.file_type().is_symlink() => {
            // Only when not following: O_NOFOLLOW semantics.
            return Err(if creat && excl {
                Errno::EXIST
            } else {
                Errno::LOOP
            });
        }
        Ok(_) => {
            if directory || resolved.trailing_slash {
                return Err(Errno::NOTDIR);
            }
            if creat && excl {
                return Err(Errno::EXIST);
            }
            Handle::File(open_file(&resolved, read, write, oflags, fdflags)?)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if !creat {
                return Err(Errno::NOENT);
            }
            if resolved.trailing_slash {
                return Err(Errno::ISDIR);
            }
            Handle::File(open_file(&resolved, read, write, oflags, fdflags)?)
        }
        Err(e) => return Err(e.into()),
    };
    let (rights_base, rights_inheriting) = match handle {
        Handle::Dir(_) => (base & rights::DIRECTORY, inheriting),
        _ => (base & rights::FILE, inheriting),
    };
    let new_fd = ctx.fds.insert(FdEntry {
        handle,
        rights_base,
        rights_inheriting,
        flags: fdflags,
        preopen: None,
    })?;
    mem.write_u32(out, new_fd)
}

fn open_file(r: &Resolved, read: bool, write: bool, oflags: u16, fdflags: u16) -> Result<File> {
    let creat = oflags & oflags::CREAT != 0;
    let excl = oflags & oflags::EXCL != 0;
    let trunc = oflags & oflags::TRUNC != 0;
    let mut opts = OpenOptions::new();
    // A descriptor with neither right (only for fstat, say) still needs an access mode.
    opts.read(read || !write).write(write);
    // The resolver has already expanded every link we may follow.
    let mut custom = libc::O_NOFOLLOW;
    if write {
        opts.create(creat).create_new(creat && excl).truncate(trunc);
    } else {
        // `OpenOptions` refuses O_CREAT/O_TRUNC without write access, which POSIX allows.
        if creat {
            custom |= libc::O_CREAT;
        }
        if creat && excl {
            custom |= libc::O_EXCL;
        }
        if trunc {
            custom |= libc::O_TRUNC;
        }
    }
    if fdflags & fdflags::SYNC != 0 {
        custom |= libc::O_SYNC;
    }
    if fdflags & (fdflags::DSYNC | fdflags::RSYNC) != 0 {
        custom |= libc::O_DSYNC;
    }
    opts.custom_flags(custom);
    let file = opts.open(&r.path)?;
    if file.metadata()?.is_dir() {
        return Err(Errno::ISDIR);
    }
    Ok(file)
}

/// `path_filestat_get(fd, lookupflags, path, path_len, filestat) -> errno`
pub fn path_filestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, flags, path, len, out) = (p.u32(0), p.u32(1), p.u32(2), p.u32(3), p.u32(4));
    mem.check(out, FILESTAT_SIZE)?;
    let r = resolve_at(ctx, mem, fd, path, len, flags & LOOKUP_SYMLINK_FOLLOW != 0)?;
    r.check_trailing_slash()?;
    let meta = fs::symlink_metadata(&r.path)?;
    mem.write(out, &Filestat::from_metadata(&meta).encode())
}

/// `path_filestat_set_times(fd, lookupflags, path, path_len, atim, mtim, fstflags) -> errno`.
/// The times of a symbolic link itself cannot be set (`ENOTSUP`).
pub fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result {
    let (fd, flags, path, len) = (p.u32(0), p.u32(1), p.u32(2), p.u32(3));
    let times = file_times(p.u64(4), p.u64(5), p.u32(6))?;
    let r = resolve_at(ctx, mem, fd, path, len, flags & LOOKUP_SYMLINK_FOLLOW != 0)?;
    r.check_trailing_slash()?;
    if fs::symlink_metadata(&r.path)?.file_type().is_symlink() {
        return Err(Errno::NOTSUP);
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&r.path)
        .or_else(|_| {
            OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&r.path)
        })?;
    file.set_times(times).map_err(Errno::from)
}

/// `path_create_directory(fd, path, path_len) -> errno`
pub fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result {
    let r = resolve_at(ctx, mem, p.u32(0), p.u32(1), p.u32(2), false)?;
    if r.is_root {
        return Err(Errno::EXIST);
    }
    fs::create_dir(&r.path).map_err(Errno::from)
}

/// `path_remove_directory(fd, path, path_len) -> errno`
pub fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result {
    let r = resolve_at(ctx, mem, p.u32(0), p.u32(1), p.u32(2), false)?;
    if r.is_root {
        return Err(Errno::BUSY);
    }
    if !fs::symlink_metadata(&r.path)?.is_dir() {
        return Err(Errno::NOTDIR);
    }
    fs::remove_dir(&r.path).map_err(Errno::from)
}

/// `path_unlink_file(fd, path, path_len) -> errno`
pub fn path_unlink_file(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let r = resolve_at(ctx, mem, p.u32(0), p.u32(1), p.u32(2), false)?;
    if r.is_root || fs::symlink_metadata(&r.path)?.is_dir() {
        return Err(Errno::ISDIR);
    }
    if r.trailing_slash {
        return Err(Errno::NOTDIR);
    }
    fs::remove_file(&r.path).map_err(Errno::from)
}

/// `path_rename(fd, old_path, old_path_len, new_fd, new_path, new_path_len) -> errno`
pub fn path_rename(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let old = resolve_at(ctx, mem, p.u32(0), p.u32(1), p.u32(2), false)?;
    let new = resolve_at(ctx, mem, p.u32(3), p.u32(4), p.u32(5), false)?;
    if old.is_root || new.is_root {
        return Err(Errno::BUSY);
    }
    let old_meta = fs::symlink_metadata(&old.path)?;
    if (old.trailing_slash || new.trailing_slash) && !old_meta.is_dir() {
        return Err(Errno::NOTDIR);
    }
    fs::rename(&old.path, &new.path).map_err(Errno::from)
}

/// `path_link(old_fd, old_flags, old_path, old_path_len, new_fd, new_path, new_path_len)`
pub fn path_link(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let follow = p.u32(1) & LOOKUP_SYMLINK_FOLLOW != 0;
    let old = resolve_at(ctx, mem, p.u32(0), p.u32(2), p.u32(3), follow)?;
    let new = resolve_at(ctx, mem, p.u32(4), p.u32(5), p.u32(6), false)?;
    if old.trailing_slash || new.trailing_slash {
        return Err(Errno::NOTDIR);
    }
    if old.is_root {
        return Err(Errno::PERM);
    }
    fs::hard_link(&old.path, &new.path).map_err(Errno::from)
}

/// `path_symlink(old_path, old_path_len, fd, new_path, new_path_len) -> errno`. The link's
/// contents are stored as given, but an absolute target is refused: it could only point
/// outside the sandbox.
pub fn path_symlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let target = mem.bytes(p.u32(0), p.u32(1))?.to_vec();
    if target.starts_with(b"/") {
        return Err(Errno::NOTCAPABLE);
    }
    if target.is_empty() {
        return Err(Errno::NOENT);
    }
    let new = resolve_at(ctx, mem, p.u32(2), p.u32(3), p.u32(4), false)?;
    if new.is_root {
        return Err(Errno::EXIST);
    }
    std::os::unix::fs::symlink(OsStr::from_bytes(&target), &new.path).map_err(Errno::from)
}

/// `path_readlink(fd, path, path_len, buf, buf_len, bufused) -> errno`: the contents are
/// truncated to the buffer.
pub fn path_readlink(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (buf, buf_len, bufused) = (p.u32(3), p.u32(4), p.u32(5));
    mem.check(bufused, 4)?;
    let r = resolve_at(ctx, mem, p.u32(0), p.u32(1), p.u32(2), false)?;
    let target = fs::read_link(&r.path)?;
    let bytes = target.as_os_str().as_bytes();
    let n = bytes.len().min(buf_len as usize);
    mem.write(buf, &bytes[..n])?;
    mem.write_u32(bufused, n as u32)
}
