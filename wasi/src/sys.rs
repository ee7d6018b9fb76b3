//! Arguments, environment, clocks, randomness, `poll_oneoff` and scheduling.

use super::fs::Handle;
use super::mem::GuestMemory;
use super::types::{
    clockid, encode_event, eventtype, Errno, EVENT_SIZE, SUBSCRIPTION_CLOCK_ABSTIME,
    SUBSCRIPTION_SIZE,
};
use super::{Params, WasiCtx};
use std::io::{self, Read, Seek};
use std::time::Duration;

type Result<T = ()> = std::result::Result<T, Errno>;

/// Writes a list of NUL-terminated strings the way `args_get`/`environ_get` want them: the
/// pointers into `ptrs`, the bytes into `buf`.
fn write_strings(mem: &mut GuestMemory<'_>, strings: &[Vec<u8>], ptrs: u32, buf: u32) -> Result {
    let mut at = buf;
    for (i, s) in strings.iter().enumerate() {
        let slot = u32::try_from(i * 4)
            .ok()
            .and_then(|off| ptrs.checked_add(off))
            .ok_or(Errno::FAULT)?;
        mem.write_u32(slot, at)?;
        mem.write(at, s)?;
        let end = at.checked_add(s.len() as u32).ok_or(Errno::FAULT)?;
        mem.write_u8(end, 0)?;
        at = end.checked_add(1).ok_or(Errno::FAULT)?;
    }
    Ok(())
}

fn write_sizes(mem: &mut GuestMemory<'_>, strings: &[Vec<u8>], count: u32, size: u32) -> Result {
    let total: usize = strings.iter().map(|s| s.len() + 1).sum();
    let total = u32::try_from(total).map_err(|_| Errno::OVERFLOW)?;
    mem.check(size, 4)?;
    mem.write_u32(count, strings.len() as u32)?;
    mem.write_u32(size, total)
}

/// `args_get(argv, argv_buf) -> errno`
pub fn args_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    write_strings(mem, &ctx.args, p.u32(0), p.u32(1))
}

/// `args_sizes_get(argc, argv_buf_size) -> errno`
pub fn args_sizes_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    write_sizes(mem, &ctx.args, p.u32(0), p.u32(1))
}

/// `environ_get(environ, environ_buf) -> errno`
pub fn environ_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    write_strings(mem, &ctx.env, p.u32(0), p.u32(1))
}

/// `environ_sizes_get(count, buf_size) -> errno`
pub fn environ_sizes_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    write_sizes(mem, &ctx.env, p.u32(0), p.u32(1))
}

fn host_clock(id: u32) -> Result<libc::clockid_t> {
    Ok(match id {
        clockid::REALTIME => libc::CLOCK_REALTIME,
        clockid::MONOTONIC => libc::CLOCK_MONOTONIC,
        clockid::PROCESS_CPUTIME_ID => libc::CLOCK_PROCESS_CPUTIME_ID,
        clockid::THREAD_CPUTIME_ID => libc::CLOCK_THREAD_CPUTIME_ID,
        _ => return Err(Errno::INVAL),
    })
}

/// Reads a host clock (`resolution` for `clock_getres`), in nanoseconds.
fn read_clock(id: u32, resolution: bool) -> Result<u64> {
    let clock = host_clock(id)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec` that outlives the call; both functions only
    // write through the pointer. (The standard library has no CPU-time clocks, hence libc.)
    let rc = unsafe {
        if resolution {
            libc::clock_getres(clock, &mut ts)
        } else {
            libc::clock_gettime(clock, &mut ts)
        }
    };
    if rc != 0 {
        return Err(Errno::from_io(&io::Error::last_os_error()));
    }
    let ns = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    u64::try_from(ns).map_err(|_| Errno::OVERFLOW)
}

/// `clock_res_get(id, resolution) -> errno`
pub fn clock_res_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let res = match ctx.replay {
        Some(_) => {
            host_clock(p.u32(0))?;
            crate::Deterministic::CLOCK_STEP_NS
        }
        None => read_clock(p.u32(0), true)?,
    };
    mem.write_u64(p.u32(1), res)
}

/// `clock_time_get(id, precision, time) -> errno`
pub fn clock_time_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let now = match &mut ctx.replay {
        Some(replay) => {
            host_clock(p.u32(0))?;
            replay.tick()
        }
        None => read_clock(p.u32(0), false)?,
    };
    mem.write_u64(p.u32(2), now)
}

/// `random_get(buf, buf_len) -> errno`, from the host's `/dev/urandom`.
pub fn random_get(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let buf = mem.bytes_mut(p.u32(0), p.u32(1))?;
    if let Some(replay) = &mut ctx.replay {
        for chunk in buf.chunks_mut(8) {
            chunk.copy_from_slice(&replay.next_u64().to_le_bytes()[..chunk.len()]);
        }
        return Ok(());
    }
    if ctx.random.is_none() {
        ctx.random = Some(std::fs::File::open("/dev/urandom")?);
    }
    match ctx.random.as_mut() {
        Some(f) => f.read_exact(buf).map_err(Errno::from),
        None => Err(Errno::IO),
    }
}

/// `sched_yield() -> errno`
pub fn sched_yield(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &Params<'_>) -> Result {
    std::thread::yield_now();
    Ok(())
}

/// `proc_raise(signal) -> errno`: there are no signals.
pub fn proc_raise(_: &mut WasiCtx, _: &mut GuestMemory<'_>, _: &Params<'_>) -> Result {
    Err(Errno::NOSYS)
}

/// `poll_oneoff(in, out, nsubscriptions, nevents) -> errno`.
///
/// Clock subscriptions sleep (relative or absolute, on any clock). Descriptor subscriptions
/// report ready at once: files always are, and for stdin and stdout this runtime does not
/// wait for readiness (a read may then block). When anything is ready at once, nothing
/// sleeps; otherwise the call sleeps until the earliest clock and reports every clock that
/// has expired by then.
pub fn poll_oneoff(ctx: &mut WasiCtx, mem: &mut GuestMemory<'_>, p: &Params<'_>) -> Result {
    let (input, output, count, nevents) = (p.u32(0), p.u32(1), p.u32(2), p.u32(3));
    if count == 0 {
        return Err(Errno::INVAL);
    }
    mem.check(nevents, 4)?;
    mem.check(
        input,
        (count as usize)
            .checked_mul(SUBSCRIPTION_SIZE as usize)
            .ok_or(Errno::FAULT)?,
    )?;
    mem.check(
        output,
        (count as usize)
            .checked_mul(EVENT_SIZE)
            .ok_or(Errno::FAULT)?,
    )?;

    let mut ready: Vec<[u8; EVENT_SIZE]> = Vec::new();
    // (userdata, nanoseconds from now)
    let mut clocks: Vec<(u64, u64)> = Vec::new();
    for i in 0..count {
        let sub = input + i * SUBSCRIPTION_SIZE; // in range: checked above
        let userdata = mem.read_u64(sub)?;
        let tag = mem.read_u8(sub + 8)?;
        match tag {
            eventtype::CLOCK => {
                let id = mem.read_u32(sub + 16)?;
                let timeout = mem.read_u64(sub + 24)?;
                let flags = mem.read_u16(sub + 40)?;
                let delay = if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 {
                    read_clock(id, false).map(|now| timeout.saturating_sub(now))
                } else {
                    host_clock(id).map(|_| timeout)
                };
                match delay {
                    Ok(d) => clocks.push((userdata, d)),
                    Err(e) => ready.push(encode_event(userdata, e, tag, 0)),
                }
            }
            eventtype::FD_READ | eventtype::FD_WRITE => {
                let fd = mem.read_u32(sub + 16)?;
                let (error, nbytes) = match ctx.fds.get_mut(fd) {
                    Err(e) => (e, 0),
                    Ok(entry) => match &mut entry.handle {
                        Handle::File(f) if tag == eventtype::FD_READ => {
                            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                            let pos = f.stream_position().unwrap_or(len);
                            (Errno(0), len.saturating_sub(pos))
                        }
                        Handle::Pipe(crate::pipe::Pipe::Input(p)) if tag == eventtype::FD_READ => {
                            (Errno(0), p.remaining())
                        }
                        Handle::Dir(_) => (Errno::BADF, 0),
                        _ => (Errno(0), 0),
                    },
                };
                ready.push(encode_event(userdata, error, tag, nbytes));
            }
            _ => return Err(Errno::INVAL),
        }
    }

    let wait = if ready.is_empty() {
        clocks.iter().map(|&(_, d)| d).min().unwrap_or(0)
    } else {
        0
    };
    if wait > 0 {
        std::thread::sleep(Duration::from_nanos(wait));
    }
    for &(userdata, delay) in &clocks {
        if delay <= wait {
            ready.push(encode_event(userdata, Errno(0), eventtype::CLOCK, 0));
        }
    }
    for (i, event) in ready.iter().enumerate() {
        mem.write(output + (i * EVENT_SIZE) as u32, event)?;
    }
    mem.write_u32(nevents, ready.len() as u32)
}
