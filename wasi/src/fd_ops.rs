//! The `fd_*` calls: reading, writing, seeking and describing open descriptors.

use super::fs::{FdEntry, Handle, Stdio};
use super::mem::{total_len, GuestMemory};
use super::pipe::Pipe;
use super::types::{
    encode_dirent, fdflags, fstflags, rights, whence, Errno, Fdstat, Filestat, DIRENT_SIZE,
};
use super::{Params, WasiCtx};
use std::fs::{File, FileTimes};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The most one read call transfers through its host buffer (reads may be short).
const MAX_READ: usize = 64 << 20;

type Result<T = ()> = std::result::Result<T, Errno>;

/// Writes all of `data` to a file, returning how much was written: a short count when an error
/// comes after some progress (as `write(2)` would), the error otherwise.
fn write_some(f: &mut File, data: &[u8], at: Option<u64>) -> Result<usize> {
    let mut done = 0;
    while done < data.len() {
        let r = match at {
            Some(offset) => f.write_at(&data[done..], offset + done as u64),
            None => f.write(&data[done..]),
        };
        match r {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if done == 0 => return Err(e.into()),
            Err(_) => break,
        }
    }
    Ok(done)
}

fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r.map_err(Errno::from),
        }
    }
}

/// Writes the iovecs in order straight from guest memory, one host write per buffer (no
/// gathering into a host copy: iovecs may overlap, so their total can be far larger than
/// memory), stopping after a short write and before the total would pass `u32::MAX` (the
/// guest's `nwritten` is a u32; a short count is what `writev(2)` may return too).
/// `write` returns how much of its buffer it wrote; an error after some progress ends the
/// call with the progress.
fn write_iovecs(
    mem: &GuestMemory<'_>,
    iovs: &[super::mem::IoVec],
    mut write: impl FnMut(&[u8], u64) -> Result<usize>,
) -> Result<u32> {
    let mut total: u64 = 0;
    for iov in iovs {
        let room = u32::MAX as u64 - total;
        let len = (iov.len as u64).min(room) as u32;
        if len == 0 && iov.len != 0 {
            break;
        }
        let data = mem.bytes(iov.ptr, len)?;
        let n = match write(data, total) {
            Ok(n) => n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        };
        total += n as u64;
        if n < data.len() {
            break;
        }
    }
    Ok(total as u32)
}

/// `fd_write(fd, iovs, iovs_len, nwritten) -> errno`
pub fn fd_write(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, iovs, iovs_len, nwritten) = (p.u32(0), p.u32(1), p.u32(2), p.u32(3));
    // The descriptor first: a write to a bad one costs nothing.
    let entry = ctx.fds.get_mut(fd)?;
    if matches!(entry.handle, Handle::Dir(_)) {
        return Err(Errno::BADF);
    }
    mem.check(nwritten, 4)?;
    let iovs = mem.iovecs(iovs, iovs_len)?;
    // A null stream stands for stdin or for an output: only the latter can be written.
    let writable = entry.rights_base & rights::FD_WRITE != 0;
    if entry.flags & fdflags::APPEND != 0 {
        if let Handle::File(f) = &mut entry.handle {
            f.seek(SeekFrom::End(0))?;
        }
    }
    let n = write_iovecs(mem, &iovs, |data, _| match &mut entry.handle {
        Handle::Stdio(s) => {
            s.write(data)?;
            Ok(data.len())
        }
        Handle::File(f) => write_some(f, data, None),
        Handle::Pipe(Pipe::Output(out)) => out.write(data).ok_or(Errno::NOSPC),
        Handle::Pipe(Pipe::Null) if writable => Ok(data.len()),
        Handle::Pipe(_) | Handle::Dir(_) => Err(Errno::BADF),
    })?;
    mem.write_u32(nwritten, n)
}

/// `fd_pwrite(fd, iovs, iovs_len, offset, nwritten) -> errno`
pub fn fd_pwrite(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, iovs, iovs_len, offset, nwritten) = (p.u32(0), p.u32(1), p.u32(2), p.u64(3), p.u32(4));
    let f = match &mut ctx.fds.get_mut(fd)?.handle {
        Handle::File(f) => f,
        Handle::Stdio(_) | Handle::Pipe(_) => return Err(Errno::SPIPE),
        Handle::Dir(_) => return Err(Errno::BADF),
    };
    mem.check(nwritten, 4)?;
    let iovs = mem.iovecs(iovs, iovs_len)?;
    let n = write_iovecs(mem, &iovs, |data, done| {
        let at = offset.checked_add(done).ok_or(Errno::FBIG)?;
        at.checked_add(data.len() as u64)
            .filter(|end| *end <= i64::MAX as u64)
            .ok_or(Errno::FBIG)?;
        write_some(f, data, Some(at))
    })?;
    mem.write_u32(nwritten, n)
}

/// Reads once into a host buffer as large as the iovecs (at most [`MAX_READ`]), then copies
/// into them: one host read per call, like `readv(2)`, so a read from a terminal or pipe
/// returns what is available instead of waiting to fill every buffer.
fn read_into(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: Option<u64>,
) -> Result<usize> {
    let iovs = mem.iovecs(iovs, iovs_len)?;
    let mut buf = vec![0u8; total_len(&iovs).min(MAX_READ)];
    let entry = ctx.fds.get_mut(fd)?;
    let readable = entry.rights_base & rights::FD_READ != 0;
    let n = match (&mut entry.handle, offset) {
        (Handle::File(f), None) => retry(|| f.read(&mut buf))?,
        (Handle::File(f), Some(at)) => retry(|| f.read_at(&mut buf, at))?,
        (Handle::Stdio(Stdio::In), None) => retry(|| io::stdin().lock().read(&mut buf))?,
        (Handle::Pipe(Pipe::Input(p)), None) => p.read(&mut buf),
        (Handle::Pipe(Pipe::Null), None) if readable => 0,
        (Handle::Stdio(_) | Handle::Pipe(_), Some(_)) => return Err(Errno::SPIPE),
        (Handle::Pipe(_), None) => return Err(Errno::BADF),
        (Handle::Stdio(_), None) => return Err(Errno::BADF),
        (Handle::Dir(_), _) => return Err(Errno::ISDIR),
    };
    mem.scatter(&iovs, &buf[..n])
}

/// `fd_read(fd, iovs, iovs_len, nread) -> errno`
pub fn fd_read(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, iovs, iovs_len, nread) = (p.u32(0), p.u32(1), p.u32(2), p.u32(3));
    mem.check(nread, 4)?;
    let n = read_into(ctx, mem, fd, iovs, iovs_len, None)?;
    mem.write_u32(nread, n as u32)
}

/// `fd_pread(fd, iovs, iovs_len, offset, nread) -> errno`
pub fn fd_pread(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, iovs, iovs_len, offset, nread) = (p.u32(0), p.u32(1), p.u32(2), p.u64(3), p.u32(4));
    mem.check(nread, 4)?;
    if offset > i64::MAX as u64 {
        return Err(Errno::INVAL);
    }
    let n = read_into(ctx, mem, fd, iovs, iovs_len, Some(offset))?;
    mem.write_u32(nread, n as u32)
}

/// The open file behind `fd`: `ESPIPE` for stdio, `EBADF` for a directory.
fn file(ctx: &mut WasiCtx, fd: u32) -> Result<&mut File> {
    match &mut ctx.fds.get_mut(fd)?.handle {
        Handle::File(f) => Ok(f),
        Handle::Stdio(_) | Handle::Pipe(_) => Err(Errno::SPIPE),
        Handle::Dir(_) => Err(Errno::BADF),
    }
}

/// `fd_seek(fd, offset: i64, whence, newoffset) -> errno`
pub fn fd_seek(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, offset, how, newoffset) = (p.u32(0), p.i64(1), p.u32(2), p.u32(3));
    mem.check(newoffset, 8)?;
    let pos = match how {
        whence::SET => SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::INVAL)?),
        whence::CUR => SeekFrom::Current(offset),
        whence::END => SeekFrom::End(offset),
        _ => return Err(Errno::INVAL),
    };
    let f = file(ctx, fd)?;
    let new = f.seek(pos)?;
    mem.write_u64(newoffset, new)
}

/// `fd_tell(fd, offset) -> errno`
pub fn fd_tell(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, out) = (p.u32(0), p.u32(1));
    mem.check(out, 8)?;
    let pos = file(ctx, fd)?.stream_position()?;
    mem.write_u64(out, pos)
}

/// `fd_close(fd) -> errno`
pub fn fd_close(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let entry = ctx.fds.remove(p.u32(0))?;
    if let Handle::Stdio(Stdio::Out) = entry.handle {
        let _ = io::stdout().flush();
    }
    Ok(())
}

/// `fd_renumber(fd, to) -> errno`
pub fn fd_renumber(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    ctx.fds.renumber(p.u32(0), p.u32(1))
}

/// `fd_fdstat_get(fd, fdstat) -> errno`
pub fn fd_fdstat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, out) = (p.u32(0), p.u32(1));
    let entry = ctx.fds.get(fd)?;
    let stat = Fdstat {
        filetype: entry.filetype(),
        flags: entry.flags,
        rights_base: entry.rights_base,
        rights_inheriting: entry.rights_inheriting,
    };
    mem.write(out, &stat.encode())
}

/// `fd_fdstat_set_flags(fd, fdflags) -> errno`. Appending is emulated (every write on an
/// append descriptor goes to the end); the other flags are recorded.
pub fn fd_fdstat_set_flags(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, flags) = (p.u32(0), p.u32(1));
    let flags = u16::try_from(flags)
        .ok()
        .filter(|f| f & !fdflags::ALL == 0)
        .ok_or(Errno::INVAL)?;
    ctx.fds.get_mut(fd)?.flags = flags;
    Ok(())
}

/// `fd_fdstat_set_rights(fd, base, inheriting) -> errno`: rights can only be dropped.
pub fn fd_fdstat_set_rights(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, base, inheriting) = (p.u32(0), p.u64(1), p.u64(2));
    let entry = ctx.fds.get_mut(fd)?;
    if base & !entry.rights_base != 0 || inheriting & !entry.rights_inheriting != 0 {
        return Err(Errno::NOTCAPABLE);
    }
    entry.rights_base = base;
    entry.rights_inheriting = inheriting;
    Ok(())
}

/// `fd_filestat_get(fd, filestat) -> errno`
pub fn fd_filestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, out) = (p.u32(0), p.u32(1));
    mem.check(out, super::types::FILESTAT_SIZE)?;
    let entry = ctx.fds.get(fd)?;
    if let Handle::Pipe(_) = entry.handle {
        // An in-memory stream has no host file: a stat of nothing but its type.
        let stat = Filestat {
            dev: 0,
            ino: 0,
            filetype: entry.filetype(),
            nlink: 1,
            size: 0,
            atim: 0,
            mtim: 0,
            ctim: 0,
        };
        return mem.write(out, &stat.encode());
    }
    let meta = entry.with_host_file(File::metadata)?;
    mem.write(out, &Filestat::from_metadata(&meta).encode())
}

/// `fd_filestat_set_size(fd, size) -> errno`
pub fn fd_filestat_set_size(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, size) = (p.u32(0), p.u64(1));
    match &ctx.fds.get(fd)?.handle {
        Handle::File(f) => retry(|| f.set_len(size)),
        _ => Err(Errno::INVAL),
    }
}

/// The times of a `*_set_times` call (`fstflags`), for `File::set_times`.
pub fn file_times(atim: u64, mtim: u64, flags: u32) -> Result<FileTimes> {
    let flags = u16::try_from(flags).map_err(|_| Errno::INVAL)?;
    let set = |exact: u16, now: u16, t: u64| -> Result<Option<SystemTime>> {
        match (flags & exact != 0, flags & now != 0) {
            (true, true) => Err(Errno::INVAL),
            (true, false) => Ok(Some(UNIX_EPOCH + Duration::from_nanos(t))),
            (false, true) => Ok(Some(SystemTime::now())),
            (false, false) => Ok(None),
        }
    };
    let mut times = FileTimes::new();
    if let Some(t) = set(fstflags::ATIM, fstflags::ATIM_NOW, atim)? {
        times = times.set_accessed(t);
    }
    if let Some(t) = set(fstflags::MTIM, fstflags::MTIM_NOW, mtim)? {
        times = times.set_modified(t);
    }
    Ok(times)
}

/// `fd_filestat_set_times(fd, atim, mtim, fstflags) -> errno`
pub fn fd_filestat_set_times(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, atim, mtim, flags) = (p.u32(0), p.u64(1), p.u64(2), p.u32(3));
    let times = file_times(atim, mtim, flags)?;
    ctx.fds.get(fd)?.with_host_file(|f| f.set_times(times))
}

fn sync(entry: &FdEntry, data_only: bool) -> Result {
    match &entry.handle {
        Handle::Stdio(Stdio::Out) => io::stdout().flush().map_err(Errno::from),
        Handle::Stdio(_) | Handle::Pipe(_) => Ok(()),
        Handle::File(f) if data_only => retry(|| f.sync_data()),
        _ => entry.with_host_file(File::sync_all),
    }
}

/// `fd_sync(fd) -> errno`
pub fn fd_sync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    sync(ctx.fds.get(p.u32(0))?, false)
}

/// `fd_datasync(fd) -> errno`
pub fn fd_datasync(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    sync(ctx.fds.get(p.u32(0))?, true)
}

/// `fd_advise(fd, offset, len, advice) -> errno`: advice is only advice; it is checked and
/// ignored.
pub fn fd_advise(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, advice) = (p.u32(0), p.u32(3));
    if advice > 5 {
        return Err(Errno::INVAL);
    }
    file(ctx, fd).map(|_| ())
}

/// `fd_allocate(fd, offset, len) -> errno`: extends the file when `offset + len` is past
/// its end.
pub fn fd_allocate(ctx: &mut WasiCtx, _: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, offset, len) = (p.u32(0), p.u64(1), p.u64(2));
    let end = offset
        .checked_add(len)
        .filter(|end| *end <= i64::MAX as u64)
        .ok_or(Errno::FBIG)?;
    let f = file(ctx, fd)?;
    if f.metadata()?.len() < end {
        retry(|| f.set_len(end))?;
    }
    Ok(())
}

/// `fd_prestat_get(fd, prestat) -> errno`: `EBADF` ends wasi-libc's scan of the preopens.
pub fn fd_prestat_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, out) = (p.u32(0), p.u32(1));
    let name = ctx.fds.get(fd)?.preopen.as_ref().ok_or(Errno::BADF)?;
    let mut prestat = [0u8; 8]; // tag 0: a directory
    prestat[4..].copy_from_slice(&(name.len() as u32).to_le_bytes());
    mem.write(out, &prestat)
}

/// `fd_prestat_dir_name(fd, path, path_len) -> errno`
pub fn fd_prestat_dir_name(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, path, len) = (p.u32(0), p.u32(1), p.u32(2));
    let name = ctx.fds.get(fd)?.preopen.as_ref().ok_or(Errno::BADF)?;
    if (len as usize) < name.len() {
        return Err(Errno::NAMETOOLONG);
    }
    mem.write(path, name)
}

/// `fd_readdir(fd, buf, buf_len, cookie, bufused) -> errno`. The cookie of an entry is its
/// index plus one; reading from cookie 0 takes a fresh listing. A full buffer means "maybe
/// more": the last entry may be cut off, and the guest asks again with a larger buffer.
pub fn fd_readdir(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (fd, buf, buf_len, cookie, bufused) = (p.u32(0), p.u32(1), p.u32(2), p.u64(3), p.u32(4));
    mem.check(bufused, 4)?;
    mem.check(buf, buf_len as usize)?;
    let dir = match &mut ctx.fds.get_mut(fd)?.handle {
        Handle::Dir(d) => d,
        _ => return Err(Errno::NOTDIR),
    };
    if cookie == 0 || dir.listing.is_none() {
        dir.listing = Some(dir.read_listing()?);
    }
    let listing = dir.listing.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (i, e) in listing.iter().enumerate().skip(start) {
        if out.len() >= buf_len as usize {
            break;
        }
        let header = encode_dirent(i as u64 + 1, e.ino, e.name.len() as u32, e.filetype);
        out.reserve(DIRENT_SIZE + e.name.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&e.name);
    }
    out.truncate(buf_len as usize);
    mem.write(buf, &out)?;
    mem.write_u32(bufused, out.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_times_flags() {
        assert!(file_times(0, 0, 0).is_ok());
        assert_eq!(
            file_times(0, 0, u32::from(fstflags::ATIM | fstflags::ATIM_NOW)).err(),
            Some(Errno::INVAL)
        );
        assert!(file_times(5, 7, u32::from(fstflags::ATIM | fstflags::MTIM_NOW)).is_ok());
    }
}
