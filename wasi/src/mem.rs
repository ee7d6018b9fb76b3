//! Bounds-checked access to the guest's linear memory. Every pointer a guest passes goes
//! through here: an access outside the memory is `EFAULT`, never a panic.

use super::types::{Errno, IOVEC_SIZE};
use std::ops::Range;

/// The calling instance's exported `memory` for the duration of one WASI call (empty when
/// the module exports no memory, so that every access is `EFAULT`).
pub struct GuestMemory<'a> {
    data: &'a mut [u8],
}

/// One `iovec`/`ciovec`: a guest buffer, already checked to lie inside memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoVec {
    pub ptr: u32,
    pub len: u32,
}

impl<'a> GuestMemory<'a> {
    pub fn new(data: &'a mut [u8]) -> Self {
        GuestMemory { data }
    }

    fn range(&self, ptr: u32, len: usize) -> Result<Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len).ok_or(Errno::FAULT)?;
        if end > self.data.len() {
            return Err(Errno::FAULT);
        }
        Ok(start..end)
    }

    /// Checks that `len` bytes at `ptr` are inside memory (for out-pointers, before doing
    /// anything with side effects).
    pub fn check(&self, ptr: u32, len: usize) -> Result<(), Errno> {
        self.range(ptr, len).map(|_| ())
    }

    pub fn bytes(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r = self.range(ptr, len as usize)?;
        Ok(&self.data[r])
    }

    pub fn bytes_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let r = self.range(ptr, len as usize)?;
        Ok(&mut self.data[r])
    }

    fn array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        let r = self.range(ptr, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.data[r]);
        Ok(out)
    }

    pub fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        Ok(self.array::<1>(ptr)?[0])
    }

    pub fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        self.array(ptr).map(u16::from_le_bytes)
    }

    pub fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        self.array(ptr).map(u32::from_le_bytes)
    }

    pub fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        self.array(ptr).map(u64::from_le_bytes)
    }

    pub fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), Errno> {
        let r = self.range(ptr, bytes.len())?;
        self.data[r].copy_from_slice(bytes);
        Ok(())
    }

    pub fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Errno> {
        self.write(ptr, &[v])
    }

    pub fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// Reads an array of `count` iovecs at `ptr`, checking each buffer.
    pub fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<IoVec>, Errno> {
        let size = (count as usize)
            .checked_mul(IOVEC_SIZE as usize)
            .ok_or(Errno::FAULT)?;
        self.check(ptr, size)?;
        (0..count)
            .map(|i| {
                let at = ptr + i * IOVEC_SIZE; // in range: checked above
                let iov = IoVec {
                    ptr: self.read_u32(at)?,
                    len: self.read_u32(at + 4)?,
                };
                self.check(iov.ptr, iov.len as usize)?;
                Ok(iov)
            })
            .collect()
    }

    /// Copies `data` into the iovecs in order; returns how many bytes were copied.
    pub fn scatter(&mut self, iovs: &[IoVec], mut data: &[u8]) -> Result<usize, Errno> {
        let mut copied = 0;
        for iov in iovs {
            if data.is_empty() {
                break;
            }
            let n = data.len().min(iov.len as usize);
            self.write(iov.ptr, &data[..n])?;
            data = &data[n..];
            copied += n;
        }
        Ok(copied)
    }
}

/// Total length of a list of iovecs (saturating: the lengths are each inside memory, but
/// overlapping buffers may add up to more).
pub fn total_len(iovs: &[IoVec]) -> usize {
    iovs.iter()
        .fold(0usize, |acc, iov| acc.saturating_add(iov.len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_is_efault() {
        let mut data = vec![0u8; 16];
        let mut mem = GuestMemory::new(&mut data);
        assert_eq!(mem.read_u32(12), Ok(0));
        assert_eq!(mem.read_u32(13), Err(Errno::FAULT));
        assert_eq!(mem.read_u64(u32::MAX), Err(Errno::FAULT));
        assert_eq!(mem.write_u32(14, 1), Err(Errno::FAULT));
        assert_eq!(mem.bytes(0, u32::MAX).err(), Some(Errno::FAULT));
        assert_eq!(mem.iovecs(0, u32::MAX).err(), Some(Errno::FAULT));
    }

    #[test]
    fn iovecs_are_checked_and_scattered() {
        let mut data = vec![0u8; 64];
        let mut mem = GuestMemory::new(&mut data);
        // Two iovecs at 0: [32, 4] and [40, 8].
        mem.write_u32(0, 32).unwrap();
        mem.write_u32(4, 4).unwrap();
        mem.write_u32(8, 40).unwrap();
        mem.write_u32(12, 8).unwrap();
        let iovs = mem.iovecs(0, 2).unwrap();
        assert_eq!(total_len(&iovs), 12);
        assert_eq!(mem.scatter(&iovs, b"abcdefg").unwrap(), 7);
        assert_eq!(mem.bytes(32, 4).unwrap(), b"abcd");
        assert_eq!(mem.bytes(40, 3).unwrap(), b"efg");
        assert_eq!(mem.bytes(44, 4).unwrap(), b"\0\0\0\0");
        // A buffer that runs past the end.
        mem.write_u32(12, 100).unwrap();
        assert_eq!(mem.iovecs(0, 2).err(), Some(Errno::FAULT));
    }
}
