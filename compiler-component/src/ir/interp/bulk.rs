//! Bulk memory in the interpreter: the frontend operators (`Op::Bulk`) and the length words
//! of the passive data segments (`Symbol::DataLength`), which legalized code reads and writes
//! as plain memory. Both forms see the same lengths, so `data.drop` in one is seen by the other.

use super::{Frame, Interp, InterpError, Res, invalid};
use crate::ir::{BulkOp, Inst, TrapCode};

impl<'m> Interp<'m> {
    /// The length `memory.init` sees for segment `n`: an active segment is dropped at
    /// instantiation, a passive one until `data.drop`.
    fn data_length(&self, n: u32) -> Res<u64> {
        match self.data_lens.get(n as usize) {
            Some(len) => Ok(*len as u64),
            None => invalid(format!("no data segment {n}")),
        }
    }

    /// The frontend bulk memory operators: every range is checked before anything is written.
    pub(super) fn bulk_op(&mut self, frame: &mut Frame<'m>, inst: &Inst, op: BulkOp) -> Res<()> {
        let args = inst
            .args
            .iter()
            .map(|a| frame.get32(*a).map(u64::from))
            .collect::<Res<Vec<u64>>>()?;
        let arg = |i: usize| match args.get(i) {
            Some(v) => Ok(*v),
            None => invalid(format!("{op:?}: missing argument {i}")),
        };
        let out_of_bounds = Err(InterpError::Trap(TrapCode::MemoryOutOfBounds));
        if let BulkOp::DataDrop(n) = op {
            self.data_length(n)?;
            self.data_lens[n as usize] = 0;
            return Ok(());
        }
        self.need_memory()?;
        let size = self.memory_bytes() as u64;
        let (d, x, len) = (arg(0)?, arg(1)?, arg(2)?);
        if d + len > size {
            return out_of_bounds;
        }
        let base = self.linear_base;
        match op {
            BulkOp::Copy => {
                if x + len > size {
                    return out_of_bounds;
                }
                let mut bytes = Vec::with_capacity(len as usize);
                for i in 0..len {
                    bytes.push(self.read_byte(base + x + i)?);
                }
                for (i, b) in bytes.into_iter().enumerate() {
                    self.write_byte(base + d + i as u64, b)?;
                }
            }
            BulkOp::Fill => {
                for i in 0..len {
                    self.write_byte(base + d + i, x as u8)?;
                }
            }
            BulkOp::Init(n) => {
                if x + len > self.data_length(n)? {
                    return out_of_bounds;
                }
                let Some(segment) = self.module.data.get(n as usize) else {
                    return invalid(format!("no data segment {n}"));
                };
                let bytes = segment.bytes[x as usize..(x + len) as usize].to_vec();
                for (i, b) in bytes.into_iter().enumerate() {
                    self.write_byte(base + d + i as u64, b)?;
                }
            }
            BulkOp::DataDrop(_) => {}
        }
        Ok(())
    }
}
