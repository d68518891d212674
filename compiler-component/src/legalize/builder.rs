//! A small builder for post-legalize IR (every value I32), plus the i32 operator expansions for
//! targets whose `Caps` lack them.

use crate::ir::{
    BinaryOp, Block, BlockData, Cond, Function, Inst, Op, Signature, Terminator, TrapCode, Type,
    UnaryOp, Value,
};
use crate::isa::Caps;

pub(super) struct FnBuilder {
    pub func: Function,
    pub current: Block,
    /// Wasm offset given to everything emitted next.
    pub offset: u32,
    pub caps: Caps,
}

impl FnBuilder {
    pub fn new(index: u32, name: String, sig: Signature, offset: u32, caps: Caps) -> Self {
        FnBuilder {
            func: Function {
                index,
                name,
                sig,
                blocks: Vec::new(),
                value_types: Vec::new(),
                offset,
            },
            current: Block(0),
            offset,
            caps,
        }
    }

    /// A new block with `params` I32 parameters; it traps until `terminate` sets its end.
    pub fn add_block(&mut self, params: usize) -> Block {
        let params = (0..params)
            .map(|_| self.func.new_value(Type::I32))
            .collect();
        self.func.blocks.push(BlockData {
            params,
            insts: Vec::new(),
            term: Terminator::Trap {
                code: TrapCode::Unreachable,
            },
            term_offset: self.offset,
        });
        Block(self.func.blocks.len() as u32 - 1)
    }

    pub fn params(&self, b: Block) -> Vec<Value> {
        self.func.block(b).params.clone()
    }

    pub fn switch_to(&mut self, b: Block) {
        self.current = b;
    }

    /// A new block with parameters of the given types.
    pub fn add_block_typed(&mut self, types: &[Type]) -> Block {
        let b = self.add_block(0);
        let params: Vec<Value> = types.iter().map(|t| self.func.new_value(*t)).collect();
        self.func.block_mut(b).params = params;
        b
    }

    /// Emit `op` with results of the given types.
    pub fn inst_typed(&mut self, op: Op, args: Vec<Value>, types: &[Type]) -> Vec<Value> {
        let results: Vec<Value> = types.iter().map(|t| self.func.new_value(*t)).collect();
        let inst = Inst {
            op,
            args,
            results: results.clone(),
            offset: self.offset,
        };
        let cur = self.current;
        self.func.block_mut(cur).insts.push(inst);
        results
    }

    /// Emit `op` with one result of type `ty`.
    pub fn typed(&mut self, op: Op, args: Vec<Value>, ty: Type) -> Value {
        self.inst_typed(op, args, &[ty])[0]
    }

    /// Emit `op` with I32 results.
    pub fn inst(&mut self, op: Op, args: Vec<Value>, results: usize) -> Vec<Value> {
        let results: Vec<Value> = (0..results)
            .map(|_| self.func.new_value(Type::I32))
            .collect();
        let inst = Inst {
            op,
            args,
            results: results.clone(),
            offset: self.offset,
        };
        let cur = self.current;
        self.func.block_mut(cur).insts.push(inst);
        results
    }

    pub fn one(&mut self, op: Op, args: Vec<Value>) -> Value {
        let r = self.inst(op, args, 1);
        r[0]
    }

    pub fn two(&mut self, op: Op, args: Vec<Value>) -> (Value, Value) {
        let r = self.inst(op, args, 2);
        (r[0], r[1])
    }

    pub fn effect(&mut self, op: Op, args: Vec<Value>) {
        self.inst(op, args, 0);
    }

    pub fn terminate(&mut self, term: Terminator) {
        let offset = self.offset;
        let cur = self.current;
        let block = self.func.block_mut(cur);
        block.term = term;
        block.term_offset = offset;
    }

    pub fn jump(&mut self, target: Block, args: Vec<Value>) {
        self.terminate(Terminator::Jump { target, args });
    }

    pub fn konst(&mut self, k: u32) -> Value {
        self.one(Op::Const(k as i32 as i64), vec![])
    }

    pub fn bin(&mut self, op: BinaryOp, a: Value, b: Value) -> Value {
        self.one(Op::Binary(op), vec![a, b])
    }

    /// `a op k` with a constant right operand.
    pub fn bin_k(&mut self, op: BinaryOp, a: Value, k: u32) -> Value {
        let k = self.konst(k);
        self.bin(op, a, k)
    }

    pub fn un(&mut self, op: UnaryOp, a: Value) -> Value {
        self.one(Op::Unary(op), vec![a])
    }

    pub fn cmp(&mut self, cond: Cond, a: Value, b: Value) -> Value {
        self.one(Op::Compare(cond), vec![a, b])
    }

    pub fn select(&mut self, c: Value, a: Value, b: Value) -> Value {
        self.one(Op::Select, vec![c, a, b])
    }

    // ---- i32 operators the target may lack ----

    /// Population count; SWAR (sum bits in 2-, 4-, 8-bit fields, then add bytes with a multiply)
    /// when the target has no instruction.
    pub fn popcnt32(&mut self, x: Value) -> Value {
        if self.caps.has_popcnt {
            return self.un(UnaryOp::Popcnt, x);
        }
        let half = self.bin_k(BinaryOp::ShrU, x, 1);
        let half = self.bin_k(BinaryOp::And, half, 0x5555_5555);
        let pairs = self.bin(BinaryOp::Sub, x, half);
        let low2 = self.bin_k(BinaryOp::And, pairs, 0x3333_3333);
        let high2 = self.bin_k(BinaryOp::ShrU, pairs, 2);
        let high2 = self.bin_k(BinaryOp::And, high2, 0x3333_3333);
        let nibbles = self.bin(BinaryOp::Add, low2, high2);
        let shifted = self.bin_k(BinaryOp::ShrU, nibbles, 4);
        let bytes = self.bin(BinaryOp::Add, nibbles, shifted);
        let bytes = self.bin_k(BinaryOp::And, bytes, 0x0f0f_0f0f);
        let total = self.bin_k(BinaryOp::Mul, bytes, 0x0101_0101);
        self.bin_k(BinaryOp::ShrU, total, 24)
    }

    /// Count leading zeros; without an instruction: smear the top set bit rightwards, then the
    /// zeros left are exactly the leading zeros: clz = popcnt(!smeared).
    pub fn clz32(&mut self, x: Value) -> Value {
        if self.caps.has_clz {
            return self.un(UnaryOp::Clz, x);
        }
        let mut smeared = x;
        for shift in [1, 2, 4, 8, 16] {
            let s = self.bin_k(BinaryOp::ShrU, smeared, shift);
            smeared = self.bin(BinaryOp::Or, smeared, s);
        }
        let inverted = self.bin_k(BinaryOp::Xor, smeared, u32::MAX);
        self.popcnt32(inverted)
    }

    /// Count trailing zeros; without an instruction: `!x & (x - 1)` has a one exactly for each
    /// trailing zero of x (all 32 for x = 0).
    pub fn ctz32(&mut self, x: Value) -> Value {
        if self.caps.has_ctz {
            return self.un(UnaryOp::Ctz, x);
        }
        let inverted = self.bin_k(BinaryOp::Xor, x, u32::MAX);
        let below = self.bin_k(BinaryOp::Sub, x, 1);
        let mask = self.bin(BinaryOp::And, inverted, below);
        self.popcnt32(mask)
    }

    /// Rotate; without an instruction: `(x << n) | (x >>u -n)`, correct for n = 0 too because
    /// shift counts are taken modulo 32.
    pub fn rotate32(&mut self, op: BinaryOp, x: Value, n: Value) -> Value {
        if self.caps.has_rotate {
            return self.bin(op, x, n);
        }
        let (first, second) = match op {
            BinaryOp::Rotl => (BinaryOp::Shl, BinaryOp::ShrU),
            _ => (BinaryOp::ShrU, BinaryOp::Shl),
        };
        let zero = self.konst(0);
        let neg = self.bin(BinaryOp::Sub, zero, n);
        let a = self.bin(first, x, n);
        let b = self.bin(second, x, neg);
        self.bin(BinaryOp::Or, a, b)
    }
}
