//! SSA construction for wasm locals (Braun et al., "Simple and Efficient Construction of SSA
//! Form", CC 2013), with block parameters in place of phis.
//!
//! Differences from the paper, both to keep every step iterative (input-controlled depth must
//! never reach the host stack):
//! - a parameter created in a sealed block is queued and its incoming values are looked up by
//!   `drain_pending`, instead of recursing into the predecessors;
//! - trivial parameters are removed afterwards by `opt::copyprop`, not on the fly.
//!
//! Only `Jump` passes block arguments, so a block that can receive parameters must be reached
//! by `Jump`s only; the translator guarantees this by giving every `Branch`/`Switch` target
//! exactly one predecessor (such blocks never need parameters).

use std::collections::VecDeque;

use crate::fast_hash::FastMap;

use crate::error::{CompileError, Result};
use crate::ir::{Block, BlockData, Function, Inst, Op, Terminator, TrapCode, Type, Value};

use super::limits::{MAX_BLOCKS_PER_FUNCTION, MAX_VALUES_PER_FUNCTION};

/// A queued block parameter for local `local` whose incoming arguments are not yet set.
struct PendingParam {
    block: Block,
    local: u32,
    /// Index of the parameter in the block's parameter list (= its argument index).
    position: usize,
}

pub struct SsaBuilder {
    pub func: Function,
    /// Type of every wasm local (parameters first).
    local_types: Vec<Type>,
    /// Current definition of each local at the end of (or so far in) each block (only looked
    /// up, never iterated, so the map's order does not matter).
    defs: Vec<FastMap<u32, Value>>,
    /// Predecessors as known so far, one entry per distinct predecessor block.
    preds: Vec<Vec<Block>>,
    sealed: Vec<bool>,
    /// Whether the block already has its real terminator.
    terminated: Vec<bool>,
    /// Parameters created while the block was unsealed: (local, position).
    incomplete: Vec<Vec<(u32, usize)>>,
    pending: VecDeque<PendingParam>,
    /// Scratch list of the blocks one lookup walked through (kept to reuse its storage).
    visited: Vec<Block>,
    /// Lazily created zero constants in the entry block (initial value of declared locals).
    zero_i32: Option<Value>,
    zero_i64: Option<Value>,
    zero_f32: Option<Value>,
    zero_f64: Option<Value>,
}

impl SsaBuilder {
    /// Start a function: block 0 is the entry; its parameters are the wasm parameters.
    pub fn new(mut func: Function, param_count: usize, local_types: Vec<Type>) -> Result<Self> {
        func.blocks.clear();
        func.value_types.clear();
        let mut builder = SsaBuilder {
            func,
            local_types,
            defs: Vec::new(),
            preds: Vec::new(),
            sealed: Vec::new(),
            terminated: Vec::new(),
            incomplete: Vec::new(),
            pending: VecDeque::new(),
            visited: Vec::new(),
            zero_i32: None,
            zero_i64: None,
            zero_f32: None,
            zero_f64: None,
        };
        let entry = builder.new_block(&[])?;
        builder.seal(entry)?;
        for local in 0..param_count {
            let ty = builder.local_type(local as u32)?;
            let param = builder.new_value(ty)?;
            builder.func.blocks[0].params.push(param);
            builder.defs[0].insert(local as u32, param);
        }
        Ok(builder)
    }

    pub fn local_type(&self, local: u32) -> Result<Type> {
        self.local_types
            .get(local as usize)
            .copied()
            .ok_or_else(|| CompileError::internal(format!("local {local} out of range")))
    }

    pub fn new_value(&mut self, ty: Type) -> Result<Value> {
        if self.func.value_types.len() >= MAX_VALUES_PER_FUNCTION {
            return Err(CompileError::limit(format!(
                "function needs more than {MAX_VALUES_PER_FUNCTION} SSA values"
            )));
        }
        Ok(self.func.new_value(ty))
    }

    /// A new, unsealed, unterminated block with parameters of the given types.
    pub fn new_block(&mut self, param_types: &[Type]) -> Result<Block> {
        if self.func.blocks.len() >= MAX_BLOCKS_PER_FUNCTION {
            return Err(CompileError::limit(format!(
                "function needs more than {MAX_BLOCKS_PER_FUNCTION} basic blocks"
            )));
        }
        let mut params = Vec::with_capacity(param_types.len());
        for ty in param_types {
            params.push(self.new_value(*ty)?);
        }
        let block = Block(self.func.blocks.len() as u32);
        // Placeholder terminator: blocks that are never reached keep it and DCE drops them.
        self.func.blocks.push(BlockData {
            params,
            insts: Vec::new(),
            term: Terminator::Trap {
                code: TrapCode::Unreachable,
            },
            term_offset: 0,
        });
        self.defs.push(FastMap::default());
        self.preds.push(Vec::new());
        self.sealed.push(false);
        self.terminated.push(false);
        self.incomplete.push(Vec::new());
        Ok(block)
    }

    pub fn block_params(&self, block: Block) -> Result<Vec<Value>> {
        Ok(self.data(block)?.params.clone())
    }

    pub fn pred_count(&self, block: Block) -> usize {
        self.preds.get(block.0 as usize).map_or(0, Vec::len)
    }

    fn data(&self, block: Block) -> Result<&BlockData> {
        self.func
            .blocks
            .get(block.0 as usize)
            .ok_or_else(|| CompileError::internal(format!("no block {block}")))
    }

    fn data_mut(&mut self, block: Block) -> Result<&mut BlockData> {
        self.func
            .blocks
            .get_mut(block.0 as usize)
            .ok_or_else(|| CompileError::internal(format!("no block {block}")))
    }

    /// Append an instruction to `block`, returning its result values.
    pub fn push_inst(
        &mut self,
        block: Block,
        op: Op,
        args: Vec<Value>,
        result_types: &[Type],
        offset: u32,
    ) -> Result<Vec<Value>> {
        let mut results = Vec::with_capacity(result_types.len());
        for ty in result_types {
            results.push(self.new_value(*ty)?);
        }
        self.data_mut(block)?.insts.push(Inst {
            op,
            args,
            results: results.clone(),
            offset,
        });
        Ok(results)
    }

    /// Set the terminator of `block` and record it as a predecessor of each distinct successor.
    pub fn terminate(&mut self, block: Block, term: Terminator, offset: u32) -> Result<()> {
        let index = block.0 as usize;
        if self.terminated.get(index).copied().unwrap_or(true) {
            return Err(CompileError::internal(format!(
                "{block} terminated twice or does not exist"
            )));
        }
        let mut successors = term.successors();
        successors.sort();
        successors.dedup();
        for succ in successors {
            let s = succ.0 as usize;
            if s >= self.preds.len() || self.sealed[s] {
                return Err(CompileError::internal(format!(
                    "edge {block} -> {succ} into a sealed or missing block"
                )));
            }
            self.preds[s].push(block);
        }
        let data = self.data_mut(block)?;
        data.term = term;
        data.term_offset = offset;
        self.terminated[index] = true;
        Ok(())
    }

    /// No more predecessors will be added to `block`: complete its pending parameters.
    pub fn seal(&mut self, block: Block) -> Result<()> {
        let index = block.0 as usize;
        if index >= self.sealed.len() || self.sealed[index] {
            return Err(CompileError::internal(format!(
                "{block} sealed twice or missing"
            )));
        }
        self.sealed[index] = true;
        for (local, position) in std::mem::take(&mut self.incomplete[index]) {
            self.pending.push_back(PendingParam {
                block,
                local,
                position,
            });
        }
        self.drain_pending()
    }

    pub fn write_local(&mut self, block: Block, local: u32, value: Value) -> Result<()> {
        let defs = self
            .defs
            .get_mut(block.0 as usize)
            .ok_or_else(|| CompileError::internal(format!("no block {block}")))?;
        defs.insert(local, value);
        Ok(())
    }

    pub fn read_local(&mut self, block: Block, local: u32) -> Result<Value> {
        let value = self.lookup(block, local)?;
        self.drain_pending()?;
        Ok(value)
    }

    /// Find the value of `local` at `block`, creating (queued) parameters where paths merge.
    fn lookup(&mut self, block: Block, local: u32) -> Result<Value> {
        let ty = self.local_type(local)?;
        let mut visited = std::mem::take(&mut self.visited);
        visited.clear();
        let mut current = block;
        let value = loop {
            let index = current.0 as usize;
            let Some(defs) = self.defs.get(index) else {
                return Err(CompileError::internal(format!("no block {current}")));
            };
            if let Some(v) = defs.get(&local) {
                break *v;
            }
            visited.push(current);
            if index == 0 {
                // Declared locals start at zero; parameters were defined when the entry was made.
                break self.zero(ty)?;
            }
            if !self.sealed[index] {
                let (param, position) = self.add_param(current, ty)?;
                self.incomplete[index].push((local, position));
                break param;
            }
            match self.preds[index].as_slice() {
                [single] => current = *single,
                [] => {
                    return Err(CompileError::internal(format!(
                        "local {local} read in {current}, which has no predecessors"
                    )));
                }
                _ => {
                    let (param, position) = self.add_param(current, ty)?;
                    self.pending.push_back(PendingParam {
                        block: current,
                        local,
                        position,
                    });
                    break param;
                }
            }
        };
        for b in &visited {
            self.defs[b.0 as usize].insert(local, value);
        }
        self.visited = visited;
        Ok(value)
    }

    /// A new parameter of `block` and its position.
    fn add_param(&mut self, block: Block, ty: Type) -> Result<(Value, usize)> {
        let param = self.new_value(ty)?;
        let params = &mut self.data_mut(block)?.params;
        params.push(param);
        Ok((param, params.len() - 1))
    }

    /// Give every queued parameter its argument on each incoming `Jump`.
    fn drain_pending(&mut self) -> Result<()> {
        while let Some(PendingParam {
            block,
            local,
            position,
        }) = self.pending.pop_front()
        {
            // Indexing, not cloning: a block may have many predecessors and many locals.
            for k in 0..self.preds[block.0 as usize].len() {
                let pred = self.preds[block.0 as usize][k];
                let value = self.lookup(pred, local)?;
                match &mut self.data_mut(pred)?.term {
                    Terminator::Jump { target, args }
                        if *target == block && args.len() == position =>
                    {
                        args.push(value)
                    }
                    other => {
                        return Err(CompileError::internal(format!(
                            "{pred} -> {block}: cannot pass argument {position} through {other:?}"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The zero constant of `ty`, created once at the top of the entry block.
    fn zero(&mut self, ty: Type) -> Result<Value> {
        let cached = match ty {
            Type::I32 => self.zero_i32,
            Type::I64 => self.zero_i64,
            Type::F32 => self.zero_f32,
            Type::F64 => self.zero_f64,
        };
        if let Some(v) = cached {
            return Ok(v);
        }
        let value = self.new_value(ty)?;
        let offset = self.func.offset;
        self.data_mut(Block(0))?.insts.insert(
            0,
            Inst {
                op: Op::Const(0),
                args: Vec::new(),
                results: vec![value],
                offset,
            },
        );
        match ty {
            Type::I32 => self.zero_i32 = Some(value),
            Type::I64 => self.zero_i64 = Some(value),
            Type::F32 => self.zero_f32 = Some(value),
            Type::F64 => self.zero_f64 = Some(value),
        }
        Ok(value)
    }

    /// Every block must be sealed once translation is over.
    pub fn finish(self) -> Result<Function> {
        if let Some(b) = self.sealed.iter().position(|s| !s) {
            return Err(CompileError::internal(format!("b{b} was never sealed")));
        }
        if !self.pending.is_empty() {
            return Err(CompileError::internal(
                "block parameters left without arguments",
            ));
        }
        Ok(self.func)
    }
}
