//! Size limits of the frontend. Each keeps compile time and memory bounded on hostile input while
//! staying far above what real embedded code needs; exceeding one is an `ErrorKind::Limit`.

/// Defined plus imported functions in a module.
pub const MAX_FUNCTIONS: usize = 100_000;
/// Parameters plus declared locals of one function (the wasmparser validator's own bound).
pub const MAX_LOCALS_PER_FUNCTION: u64 = 50_000;
/// Nesting depth of block/loop/if in one function, counting unreachable ones.
pub const MAX_CONTROL_NESTING: usize = 1_000;
/// Operators in one function body.
pub const MAX_OPERATORS_PER_FUNCTION: usize = 1_000_000;
/// SSA values (instruction results and block parameters) in one function.
pub const MAX_VALUES_PER_FUNCTION: usize = 4_000_000;
/// Basic blocks in one function.
pub const MAX_BLOCKS_PER_FUNCTION: usize = 1_000_000;
/// Entries of one `br_table`.
pub const MAX_BR_TABLE_ENTRIES: usize = 100_000;
/// Entries a table may grow to beyond its initial size, when the module grows it at all (a
/// table no `table.grow` names never grows, so it reserves exactly its initial entries). The
/// declared maximum caps it further.
pub const TABLE_GROW_BUDGET: u32 = 1024;
/// Initial entries of one table (each is a word of RAM).
pub const MAX_TABLE_ENTRIES: u64 = 1 << 20;
/// Items of all element segments together.
pub const MAX_ELEM_ITEMS: usize = 1 << 20;
