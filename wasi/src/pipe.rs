//! In-memory standard streams for embedders: an input the guest reads from bytes, an output
//! the host reads back after the run, or nothing at all (like `/dev/null`).

use std::sync::{Arc, Mutex, PoisonError};

/// Bytes the guest reads as a stream (stdin), ending in end-of-file.
#[derive(Clone, Debug, Default)]
pub struct InputPipe {
    data: Arc<[u8]>,
    pos: usize,
}

impl InputPipe {
    /// A stream of `data`.
    pub fn new(data: impl Into<Vec<u8>>) -> InputPipe {
        InputPipe {
            data: data.into().into(),
            pos: 0,
        }
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let rest = &self.data[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        n
    }

    pub(crate) fn remaining(&self) -> u64 {
        (self.data.len() - self.pos) as u64
    }
}

/// A stream the guest writes (stdout, stderr) and the host reads with
/// [`OutputPipe::contents`]. Clones share the buffer: keep one, give one to the context.
/// Writes past `capacity` bytes fail with `ENOSPC`, so a guest cannot fill host memory.
#[derive(Clone, Debug)]
pub struct OutputPipe {
    buf: Arc<Mutex<Vec<u8>>>,
    capacity: usize,
}

impl OutputPipe {
    /// An empty stream that holds at most `capacity` bytes.
    pub fn new(capacity: usize) -> OutputPipe {
        OutputPipe {
            buf: Arc::default(),
            capacity,
        }
    }

    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.buf
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Writes what fits; `None` when nothing does (the stream is full).
    pub(crate) fn write(&self, data: &[u8]) -> Option<usize> {
        let mut buf = self.buf.lock().unwrap_or_else(PoisonError::into_inner);
        let n = data.len().min(self.capacity - buf.len());
        if n == 0 && !data.is_empty() {
            return None;
        }
        buf.extend_from_slice(&data[..n]);
        Some(n)
    }
}

/// A standard stream that is not the host's own.
#[derive(Clone, Debug)]
pub enum Pipe {
    /// Reads from bytes.
    Input(InputPipe),
    /// Writes into a host buffer.
    Output(OutputPipe),
    /// Reads end-of-file, writes are discarded.
    Null,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_reads_then_ends() {
        let mut p = InputPipe::new(b"hello".to_vec());
        let mut buf = [0u8; 3];
        assert_eq!(p.read(&mut buf), 3);
        assert_eq!(&buf, b"hel");
        assert_eq!(p.remaining(), 2);
        assert_eq!(p.read(&mut buf), 2);
        assert_eq!(p.read(&mut buf), 0);
    }

    #[test]
    fn output_is_bounded_and_shared_by_clones() {
        let p = OutputPipe::new(4);
        let q = p.clone();
        assert_eq!(q.write(b"abc"), Some(3));
        assert_eq!(q.write(b"def"), Some(1));
        assert_eq!(q.write(b"g"), None);
        assert_eq!(q.write(b""), Some(0));
        assert_eq!(p.contents(), b"abcd");
    }
}
