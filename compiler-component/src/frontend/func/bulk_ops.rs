//! Bulk memory operators: `memory.copy`, `memory.fill`, `memory.init`, `data.drop`.

use wasmparser::Operator;

use super::Translator;
use crate::error::{CompileError, Result};
use crate::frontend::opname::operator_name;
use crate::ir::{BulkOp, Op};

impl Translator<'_> {
    /// Translate a bulk memory operator; anything else is unsupported.
    pub(super) fn bulk_operator(&mut self, op: Operator<'_>, offset: u32) -> Result<()> {
        let bulk = match op {
            Operator::MemoryCopy {
                dst_mem: 0,
                src_mem: 0,
            } => BulkOp::Copy,
            Operator::MemoryFill { mem: 0 } => BulkOp::Fill,
            Operator::MemoryInit { data_index, mem: 0 } => BulkOp::Init(data_index),
            Operator::DataDrop { data_index } => BulkOp::DataDrop(data_index),
            Operator::MemoryCopy { .. }
            | Operator::MemoryFill { .. }
            | Operator::MemoryInit { .. } => {
                return Err(CompileError::unsupported(
                    format!(
                        "operator `{}` on a memory other than 0 (multiple memories)",
                        operator_name(&op)
                    ),
                    offset as u64,
                ));
            }
            other => {
                return Err(CompileError::unsupported(
                    format!("operator `{}` is not supported", operator_name(&other)),
                    offset as u64,
                ));
            }
        };
        let args = match bulk {
            BulkOp::DataDrop(_) => Vec::new(),
            _ => self.pop_n(3)?,
        };
        self.emit(Op::Bulk(bulk), args, &[], offset)?;
        Ok(())
    }
}
