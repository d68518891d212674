//! Loop-invariant code motion: a cheap pure instruction inside a loop whose operands are all
//! defined outside it moves to the end of the loop's preheader (its one predecessor outside the
//! loop, which jumps only to the header), so it runs once per entry instead of once per
//! iteration. Inner loops go first, so an invariant climbs out of a whole nest. Repeats of a
//! constant that moves read the one that moved.
//!
//! Each moved value is live through the whole loop, so only as many move as the loop's
//! register pressure leaves room for, within a budget the target sets; the count is of the
//! values that need a register there (not compares fused into their consumer, nor constants
//! the loop does not read or reads only as immediates). Constants move too (a multiply or a
//! wide compare needs one in a register; the allocator rematerializes them where registers
//! run short), except out of loops that call. Division, compares (fused into their consumer
//! by the back ends) and float arithmetic stay where they are.

use super::gvn::PureOp;
use crate::fast_hash::FastMap;
use crate::ir::dom::Dominators;
use crate::ir::{BinaryOp, Function, Inst, Op, Terminator, Type, UnaryOp, Value};
use crate::regalloc::liveness::BitSet;

/// How many values a loop may keep live at once after hoisting: a little under the core
/// registers the target allocates, since IR liveness is not the machine's. Each hoisted value
/// is live through the whole loop, so it adds one everywhere in it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Budget {
    pub loop_registers: usize,
    /// The same in a loop that calls, which leaves only the callee-saved registers; constants
    /// do not move out of such loops at all.
    pub across_calls: usize,
    /// A compare takes a small constant as an immediate (Thumb-2 `cmp`; not RV32's branches,
    /// which compare two registers).
    pub compare_immediates: bool,
}

impl Budget {
    pub fn of(caps: crate::isa::Caps) -> Budget {
        Budget {
            loop_registers: caps.allocatable_core.saturating_sub(2),
            across_calls: caps.callee_saved_core.saturating_sub(2),
            compare_immediates: !caps.branch_compares,
        }
    }
}

fn is_call(inst: &Inst) -> bool {
    matches!(
        inst.op,
        Op::Call(_) | Op::CallPtr(_) | Op::CallIndirect(_) | Op::Bulk(_)
    )
}

fn movable(op: PureOp) -> bool {
    match op {
        PureOp::Const(_) | PureOp::SymbolAddr(..) | PureOp::Unary(_) | PureOp::Select => true,
        PureOp::Binary(b) => !matches!(
            b,
            BinaryOp::DivS | BinaryOp::DivU | BinaryOp::RemS | BinaryOp::RemU
        ),
        PureOp::FUnary(_) | PureOp::FBinary(_) | PureOp::Convert(_) => false,
    }
}

/// LICM moves instructions between blocks but changes no edge, so `dom` stays valid.
/// Returns whether an instruction moved.
pub fn run(func: &mut Function, dom: &Dominators, budget: Budget) -> bool {
    if func.blocks.len() <= 1 {
        return false;
    }
    let loops = dom.loops(func);
    if loops.is_empty() {
        return false;
    }
    let mut changed = false;
    // The block defining each value (usize::MAX: not defined in a reachable block).
    let mut def_block = vec![usize::MAX; func.value_types.len()];
    for (b, block) in func.blocks.iter().enumerate() {
        let defined = block
            .params
            .iter()
            .chain(block.insts.iter().flat_map(|i| &i.results));
        for v in defined {
            if let Some(slot) = def_block.get_mut(v.0 as usize) {
                *slot = b;
            }
        }
    }
    let preds = dom.preds();
    let mut live_in_cache: Option<Vec<BitSet>> = None;
    let mut registerless_cache: Option<(BitSet, BitSet)> = None;
    // Per block: values moved out of a loop around it (live through it from now on).
    let mut moved_through = vec![0usize; func.blocks.len()];
    for lp in &loops {
        let mut outside = preds[lp.header]
            .iter()
            .map(|p| p.0 as usize)
            .filter(|&p| !lp.in_body[p]);
        let (Some(pre), None) = (outside.next(), outside.next()) else {
            continue;
        };
        if !matches!(func.blocks[pre].term, Terminator::Jump { .. }) || !dom.is_reachable(pre) {
            continue;
        }
        let body: Vec<usize> = dom
            .rpo()
            .iter()
            .map(|b| b.0 as usize)
            .filter(|&b| lp.in_body[b])
            .collect();
        // Invariant instructions by (block, index), in body order: an instruction whose
        // operands are invariants is one too.
        let calls = body
            .iter()
            .any(|&b| func.blocks[b].insts.iter().any(is_call));
        let mut invariant = vec![false; func.value_types.len()];
        let mut found: Vec<(usize, usize)> = Vec::new();
        // Repeats of a constant already found: (block, index, the first one's value).
        let mut repeats: Vec<(usize, usize, Value)> = Vec::new();
        let mut constants: FastMap<(i64, Type), Value> = FastMap::default();
        for &b in &body {
            for (i, inst) in func.blocks[b].insts.iter().enumerate() {
                let outside_or_invariant = |a: &Value| {
                    let index = a.0 as usize;
                    invariant.get(index).copied().unwrap_or(false)
                        || def_block
                            .get(index)
                            .is_some_and(|&d| d != usize::MAX && !lp.in_body[d])
                };
                if PureOp::of(&inst.op).is_some_and(movable)
                    && inst.results.len() == 1
                    && inst.args.iter().all(outside_or_invariant)
                {
                    let result = inst.results[0];
                    // A call clobbers a constant on every iteration: rebuilt after the call, it
                    // costs what it costs in place (and what reads it stays too).
                    if calls && matches!(inst.op, Op::Const(_)) {
                        continue;
                    }
                    invariant[result.0 as usize] = true;
                    if let Op::Const(k) = inst.op {
                        let ty = func.value_type(result);
                        if let Some(&first) = constants.get(&(k, ty)) {
                            repeats.push((b, i, first));
                            continue;
                        }
                        constants.insert((k, ty), result);
                    }
                    found.push((b, i));
                }
            }
        }
        if found.is_empty() {
            continue;
        }
        let limit = if calls {
            budget.across_calls
        } else {
            budget.loop_registers
        };
        // Liveness and what needs no register once per run (the first loop that has
        // candidates computes them); what moved since is live through its loop's blocks on top.
        let live_in = live_in_cache.get_or_insert_with(|| live_in(func));
        let (constant_defs, registerless) = registerless_cache
            .get_or_insert_with(|| constants_and_registerless(func, budget.compare_immediates));
        let free = registerless_in(func, &body, constant_defs, registerless);
        let pressure = max_live(func, &body, live_in, &free, &moved_through);
        // Immediates move without taking a register; the rest, in body order (so what they
        // read moves too), as far as the budget goes.
        let mut room = limit.saturating_sub(pressure);
        found.retain(|&(b, i)| {
            let inst = &func.blocks[b].insts[i];
            let free = registerless.contains(inst.results[0].0 as usize)
                && matches!(inst.op, Op::Const(_));
            let fits = free || room > 0;
            room -= usize::from(fits && !free);
            fits
        });
        if found.is_empty() {
            continue;
        }
        // A repeated constant reads the one that moves (copy propagation removes the copy).
        let kept: Vec<Value> = found
            .iter()
            .map(|&(b, i)| func.blocks[b].insts[i].results[0])
            .collect();
        let mut replaced: FastMap<Value, Value> = FastMap::default();
        for &(b, i, first) in &repeats {
            if kept.contains(&first) {
                let inst = &mut func.blocks[b].insts[i];
                replaced.insert(inst.results[0], first);
                inst.op = Op::Copy;
                inst.args = vec![first];
            }
        }
        // Take them out back to front so the indices stay valid, then append in body order.
        let mut moved = Vec::with_capacity(found.len());
        for &(b, i) in found.iter().rev() {
            moved.push(func.blocks[b].insts.remove(i));
        }
        for &b in &body {
            moved_through[b] += moved.len();
        }
        for mut inst in moved.into_iter().rev() {
            // The copy a repeat became stays in the loop; what moves reads the original.
            for a in &mut inst.args {
                if let Some(&first) = replaced.get(a) {
                    *a = first;
                }
            }
            for r in &inst.results {
                if let Some(slot) = def_block.get_mut(r.0 as usize) {
                    *slot = pre;
                }
            }
            func.blocks[pre].insts.push(inst);
        }
        changed = true;
    }
    changed
}

/// The function's constants, and its values that need no register of their own: small
/// constants (immediate operands: RV32 takes 12 bits, Thumb-2 at least 8 and most of these)
/// and compare results (fused into the branch, select or trap that reads them, like an `and`
/// of two compares a trap reads).
fn constants_and_registerless(func: &Function, compare_immediates: bool) -> (BitSet, BitSet) {
    let mut constants = BitSet::new(func.value_types.len());
    let mut registerless = BitSet::new(func.value_types.len());
    let in_register = read_in_registers(func, compare_immediates);
    for inst in func.blocks.iter().flat_map(|b| &b.insts) {
        let [r] = inst.results.as_slice() else {
            continue;
        };
        let free = match inst.op {
            Op::Const(k) => {
                constants.insert(r.0 as usize);
                is_immediate(func, *r, k) && !in_register.contains(r.0 as usize)
            }
            Op::Compare(_) | Op::Unary(UnaryOp::Eqz) | Op::FCompare(_) => true,
            Op::Binary(BinaryOp::And) => inst
                .args
                .iter()
                .all(|v| registerless.contains(v.0 as usize)),
            _ => false,
        };
        if free {
            registerless.insert(r.0 as usize);
        }
    }
    (constants, registerless)
}

/// Values read where no immediate can stand (everywhere but the second operand of an ALU
/// operation, or of a compare where compares take immediates): a block argument, a stored
/// value, a call argument, a factor.
fn read_in_registers(func: &Function, compare_immediates: bool) -> BitSet {
    let mut set = BitSet::new(func.value_types.len());
    for block in &func.blocks {
        for inst in &block.insts {
            let immediate_second = match inst.op {
                Op::Binary(op) => !matches!(
                    op,
                    BinaryOp::Mul
                        | BinaryOp::DivS
                        | BinaryOp::DivU
                        | BinaryOp::RemS
                        | BinaryOp::RemU
                ),
                Op::Compare(_) => compare_immediates,
                _ => false,
            };
            for (i, a) in inst.args.iter().enumerate() {
                if !(immediate_second && i == 1) {
                    set.insert(a.0 as usize);
                }
            }
        }
        for a in block.term.use_slice() {
            set.insert(a.0 as usize);
        }
    }
    set
}

/// An integer constant the targets fold into the instructions that read it.
fn is_immediate(func: &Function, v: Value, k: i64) -> bool {
    !func.value_type(v).is_float() && (-2048..2048).contains(&k)
}

/// The values that hold no register in the loop: the registerless ones, and the constants it
/// does not read (live through it in IR terms, they are rebuilt after it).
fn registerless_in(
    func: &Function,
    body: &[usize],
    constants: &BitSet,
    registerless: &BitSet,
) -> BitSet {
    let mut free = constants.clone();
    for &b in body {
        let block = &func.blocks[b];
        let reads = block.insts.iter().flat_map(|i| &i.args);
        for v in reads.chain(block.term.use_slice()) {
            free.remove(v.0 as usize);
        }
    }
    free.union_with(registerless);
    free
}

/// The most values live at once at any point of the given blocks (SSA liveness over the whole
/// function, block arguments used by the jump that passes them, plus what moved through each),
/// not counting `free` ones.
fn max_live(
    func: &Function,
    blocks: &[usize],
    live_in: &[BitSet],
    free: &BitSet,
    moved_through: &[usize],
) -> usize {
    let mut most = 0;
    let mut live = BitSet::new(func.value_types.len());
    for &b in blocks {
        live_out(&mut live, func, b, live_in);
        let block = &func.blocks[b];
        for v in block.term.use_slice() {
            live.insert(v.0 as usize);
        }
        live.subtract(free);
        let mut count = live.count();
        let mut block_most = count;
        for inst in block.insts.iter().rev() {
            for r in &inst.results {
                count -= usize::from(live.remove(r.0 as usize));
            }
            for a in inst.args.iter().filter(|a| !free.contains(a.0 as usize)) {
                count += usize::from(live.insert(a.0 as usize));
            }
            block_most = block_most.max(count);
        }
        most = most.max(block_most + moved_through[b]);
    }
    most
}

/// Sets `out` (sized for the function's values) to the values live out of block `b`.
fn live_out(out: &mut BitSet, func: &Function, b: usize, live_in: &[BitSet]) {
    out.clear();
    for s in func.blocks[b].term.successor_iter() {
        if let Some(set) = live_in.get(s.0 as usize) {
            out.union_with(set);
        }
    }
}

/// Values live on entry to each block (its parameters excluded), to a fixed point.
fn live_in(func: &Function) -> Vec<BitSet> {
    let count = func.value_types.len();
    let mut live_in = vec![BitSet::new(count); func.blocks.len()];
    let order: Vec<usize> = func
        .reverse_postorder()
        .iter()
        .rev()
        .map(|b| b.0 as usize)
        .collect();
    // One scratch set for every block and round.
    let mut live = BitSet::new(count);
    let mut changed = true;
    while changed {
        changed = false;
        for &b in &order {
            live_out(&mut live, func, b, &live_in);
            let block = &func.blocks[b];
            for v in block.term.use_slice() {
                live.insert(v.0 as usize);
            }
            for inst in block.insts.iter().rev() {
                for r in &inst.results {
                    live.remove(r.0 as usize);
                }
                for a in &inst.args {
                    live.insert(a.0 as usize);
                }
            }
            for p in &block.params {
                live.remove(p.0 as usize);
            }
            changed |= live_in[b].union_with(&live);
        }
    }
    live_in
}
