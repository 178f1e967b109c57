//! A reader that makes up a file as it is read, for tests about size and streaming.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

/// Produces a file chunk by chunk, without ever holding it, and counts what it hands out.
pub struct Generated<F> {
    chunk: F,
    next: u64,
    chunks: u64,
    pending: Vec<u8>,
    pos: usize,
    /// Bytes handed out so far, shared with the test.
    pulled: Rc<Cell<u64>>,
}

impl<F: FnMut(u64) -> Vec<u8>> Generated<F> {
    pub fn new(chunks: u64, chunk: F) -> Self {
        Generated { chunk, next: 0, chunks, pending: Vec::new(), pos: 0, pulled: Rc::default() }
    }

    /// Adds what this reader hands out to `pulled`.
    pub fn counting(mut self, pulled: &Rc<Cell<u64>>) -> Self {
        self.pulled = Rc::clone(pulled);
        self
    }
}

impl<F: FnMut(u64) -> Vec<u8>> Read for Generated<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.pending.len() {
            if self.next == self.chunks {
                return Ok(0);
            }
            self.pending = (self.chunk)(self.next);
            self.next += 1;
            self.pos = 0;
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        self.pulled.set(self.pulled.get() + n as u64);
        Ok(n)
    }
}
