//! Reference and table operators: `call_indirect`, `ref.*`, `table.*`, `elem.drop`.

use wasmparser::Operator;

use super::Translator;
use crate::error::Result;
use crate::ir::{IndirectCall, Op, TableOp, Type, UnaryOp};

impl Translator<'_> {
    /// Translate a reference or table operator; anything else is unsupported.
    pub(super) fn table_operator(&mut self, op: Operator<'_>, offset: u32) -> Result<()> {
        use Type::I32;
        match op {
            Operator::CallIndirect {
                type_index,
                table_index,
            } => {
                let (sig, type_id) = self.env.indirect_type(type_index, offset)?;
                let index = self.pop()?;
                let mut args = self.pop_n(sig.params.len())?;
                args.push(index);
                let call = IndirectCall {
                    table: table_index,
                    type_id,
                    sig: sig.clone(),
                };
                let results =
                    self.emit(Op::CallIndirect(Box::new(call)), args, &sig.results, offset)?;
                self.stack.extend(results);
            }
            Operator::RefNull { .. } => self.push1(Op::Const(0), Vec::new(), I32, offset)?,
            Operator::RefIsNull => {
                let v = self.pop()?;
                self.push1(Op::Unary(UnaryOp::Eqz), vec![v], I32, offset)?;
            }
            Operator::RefFunc { function_index } => {
                self.push1(
                    Op::Table(TableOp::RefFunc(function_index)),
                    Vec::new(),
                    I32,
                    offset,
                )?;
            }
            Operator::TableGet { table } => {
                let index = self.pop()?;
                self.push1(Op::Table(TableOp::Get(table)), vec![index], I32, offset)?;
            }
            Operator::TableSet { table } => {
                let value = self.pop()?;
                let index = self.pop()?;
                self.emit(
                    Op::Table(TableOp::Set(table)),
                    vec![index, value],
                    &[],
                    offset,
                )?;
            }
            Operator::TableSize { table } => {
                self.push1(Op::Table(TableOp::Size(table)), Vec::new(), I32, offset)?;
            }
            Operator::TableGrow { table } => {
                let delta = self.pop()?;
                let init = self.pop()?;
                self.push1(
                    Op::Table(TableOp::Grow(table)),
                    vec![init, delta],
                    I32,
                    offset,
                )?;
            }
            Operator::TableFill { table } => {
                let args = self.pop_n(3)?;
                self.emit(Op::Table(TableOp::Fill(table)), args, &[], offset)?;
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let args = self.pop_n(3)?;
                let op = TableOp::Copy {
                    dst: dst_table,
                    src: src_table,
                };
                self.emit(Op::Table(op), args, &[], offset)?;
            }
            Operator::TableInit { elem_index, table } => {
                let args = self.pop_n(3)?;
                let op = TableOp::Init {
                    table,
                    elem: elem_index,
                };
                self.emit(Op::Table(op), args, &[], offset)?;
            }
            Operator::ElemDrop { elem_index } => {
                self.emit(
                    Op::Table(TableOp::ElemDrop(elem_index)),
                    vec![],
                    &[],
                    offset,
                )?;
            }
            other => return self.bulk_operator(other, offset),
        }
        Ok(())
    }
}
