//! Tables, element segments and references (Wasm 2.0 reference types).
//!
//! A reference is one 32-bit word. A `funcref` is 0 (null) or the address of the function's
//! descriptor `{type id, code address}` (`Symbol::FuncRef`); an `externref` is an opaque host
//! word, 0 being null. A table is a word array behind a size word (`Symbol::Table`); a passive
//! element segment is its length word followed by its items (`Symbol::Elem`). See docs/ABI.md.

use std::collections::BTreeMap;

use super::{Import, Signature};

/// What a table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    Func,
    Extern,
}

/// A constant reference: an element segment item or a table entry known at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefValue {
    Null,
    /// The descriptor of function N.
    Func(u32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub kind: RefKind,
    /// Entries at instantiation.
    pub initial: u32,
    /// Effective maximum: the declared one, capped by `Options::max_table_entries` (but never
    /// below `initial`). `table.grow` beyond it answers -1.
    pub max: u32,
    /// The entries after the active element segments that fit (length `initial`; empty for
    /// an imported table, whose entries the exporter owns).
    pub init: Vec<RefValue>,
    pub exports: Vec<String>,
    /// An imported table is the import's undefined symbol (same layout as a defined one).
    pub import: Option<Import>,
}

/// An element segment as `table.init` sees it. Active and declarative segments are dropped at
/// instantiation, so only a passive one keeps its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElemSegment {
    pub items: Vec<RefValue>,
}

/// Everything reference-typed a module has beyond its functions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    pub tables: Vec<Table>,
    /// Every element segment, by segment index.
    pub elems: Vec<ElemSegment>,
    /// Functions that need a descriptor, with their type id (`type_id`).
    pub funcrefs: BTreeMap<u32, u32>,
    /// Globals whose initial value is `ref.func F`: (global, F). `synth_init` stores them.
    pub global_refs: Vec<(u32, u32)>,
    /// Globals whose initial value is `global.get` of an imported global: (global, import).
    /// `synth_init` copies them.
    pub global_copies: Vec<(u32, u32)>,
    /// An active element segment does not fit its table: `synth_init` traps
    /// (`ElemSegmentOutOfBounds`) before anything else.
    pub init_trap: bool,
    /// Element segment items that are `global.get` of a global initialized at run time (an
    /// imported one, or a copy of one): their word in the segment is 0 until `synth_init`
    /// stores the global's value there, after the globals and before any segment is applied.
    pub elem_globals: Vec<ElemGlobal>,
    /// Active element segments `synth_init` applies at run time, in order (after the
    /// statically applied ones): it traps (`ElemSegmentOutOfBounds`) at the first that does not
    /// fit its table's current size, then drops each (its items stay in `elems` until then).
    pub runtime_elems: Vec<ActiveElem>,
    /// The long type ids (bit strings of more than 32 bits, as lowercase hex, see
    /// `long_type_name`): long type K has the IR id `long_type_id(K)` (even, so never a short
    /// id) and, in the object, the address of the weak symbol `__synth_type_<HEX>`
    /// (`Symbol::TypeId(K)`).
    pub long_type_ids: Vec<String>,
}

/// The IR id of long type `k`: even (short ids are odd) and nonzero.
pub fn long_type_id(k: u32) -> u32 {
    2 * (k + 1)
}

/// The long type index of IR id `id`, when it is one.
pub fn long_type_index(id: u32) -> Option<u32> {
    (id != 0 && id.is_multiple_of(2)).then(|| id / 2 - 1)
}

/// Item `item` of element segment `elem` is the value of global `global`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElemGlobal {
    pub elem: u32,
    pub item: u32,
    pub global: u32,
}

/// An active element segment applied by `synth_init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActiveElem {
    pub elem: u32,
    pub table: u32,
    /// The constant offset, or 0 when `offset_global` holds it.
    pub offset: u32,
    /// The imported global whose (i32) value is the offset.
    pub offset_global: Option<u32>,
}

/// The frontend form of the table operators (removed by legalize). References are I32 words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableOp {
    /// results[0] = table[args[0]]; traps `TableOutOfBounds`.
    Get(u32),
    /// table[args[0]] = args[1]; traps `TableOutOfBounds`.
    Set(u32),
    /// results[0] = current size.
    Size(u32),
    /// results[0] = table.grow(init = args[0], delta = args[1]): old size or -1.
    Grow(u32),
    /// args = [index, value, count].
    Fill(u32),
    /// args = [dst index, src index, count].
    Copy {
        dst: u32,
        src: u32,
    },
    /// args = [dst index, segment offset, count].
    Init {
        table: u32,
        elem: u32,
    },
    ElemDrop(u32),
    /// results[0] = the descriptor address of function N.
    RefFunc(u32),
}

/// `call_indirect` in frontend form: args = [call arguments..., table index].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndirectCall {
    pub table: u32,
    /// The expected type id (`type_id`).
    pub type_id: u32,
    /// The IR signature of the expected type (refs as I32).
    pub sig: Signature,
}

/// A wasm value type as the type id spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdType {
    I32,
    I64,
    F32,
    F64,
    FuncRef,
    ExternRef,
}

/// The type id of a function type: a prefix-free bit string written from bit 0 up, a marker 1,
/// then each parameter's code, END, each result's code, END; codes (in the order written):
/// i32 `0`, i64 `100`, f32 `101`, f64 `1100`, END `1101`, funcref `1110`, externref `1111`.
/// Structural (two modules agree without linking anything), injective (the codes are
/// prefix-free) and odd; `None` when the string needs more than 32 bits.
pub fn type_id(params: &[IdType], results: &[IdType]) -> Option<u32> {
    let bits = type_bits(params, results);
    (bits.len() <= 32).then(|| {
        bits.iter()
            .enumerate()
            .fold(0u32, |acc, (i, bit)| acc | (u32::from(*bit) << i))
    })
}

/// The type-id bit string of any signature (as `type_id` writes it), packed from bit 0 up
/// into bytes and spelled as lowercase hex, byte by byte: the name of a long type id.
pub fn long_type_name(params: &[IdType], results: &[IdType]) -> String {
    type_bits(params, results)
        .chunks(8)
        .map(|byte| {
            let b = byte
                .iter()
                .enumerate()
                .fold(0u8, |acc, (i, bit)| acc | (u8::from(*bit) << i));
            format!("{b:02x}")
        })
        .collect()
}

/// The bit string `type_id` describes, in the order written: the marker, the parameters'
/// codes, END, the results' codes, END.
fn type_bits(params: &[IdType], results: &[IdType]) -> Vec<bool> {
    const END: (u64, u32) = (0b1011, 4);
    let mut bits: Vec<bool> = vec![true];
    let mut put = |code: (u64, u32)| {
        for i in 0..code.1 {
            bits.push(code.0 >> i & 1 == 1);
        }
    };
    for t in params {
        put(code(*t));
    }
    put(END);
    for t in results {
        put(code(*t));
    }
    put(END);
    bits
}

/// (bits, length) of a type's code, the first bit in bit 0. The codes form a prefix-free set:
/// i32 = 0; i64 = 1,0,0; f32 = 1,0,1; f64 = 1,1,0,0; END = 1,1,0,1; funcref = 1,1,1,0;
/// externref = 1,1,1,1 (read in order).
fn code(t: IdType) -> (u64, u32) {
    // Each code below is the bit sequence above packed with its first bit lowest.
    match t {
        IdType::I32 => (0b0, 1),
        IdType::I64 => (0b001, 3),
        IdType::F32 => (0b101, 3),
        IdType::F64 => (0b0011, 4),
        IdType::FuncRef => (0b0111, 4),
        IdType::ExternRef => (0b1111, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdType::*;

    #[test]
    fn type_ids_are_injective_and_structural() {
        let sigs: Vec<(Vec<IdType>, Vec<IdType>)> = vec![
            (vec![], vec![]),
            (vec![I32], vec![]),
            (vec![], vec![I32]),
            (vec![I32], vec![I32]),
            (vec![I64], vec![]),
            (vec![F32], vec![]),
            (vec![F64], vec![]),
            (vec![FuncRef], vec![]),
            (vec![ExternRef], vec![]),
            (vec![I32, I32], vec![]),
            (vec![I32], vec![I32, I32]),
            (vec![F64, I32], vec![F32]),
            (vec![], vec![ExternRef]),
            (vec![], vec![FuncRef]),
            (vec![I64, I64], vec![I64]),
        ];
        let mut seen = BTreeMap::new();
        for (p, r) in &sigs {
            let id = type_id(p, r).expect("fits");
            assert_eq!(id & 1, 1, "ids are odd, never a descriptor-like address");
            if let Some(prev) = seen.insert(id, (p.clone(), r.clone())) {
                panic!("{prev:?} and {:?} share id {id:#x}", (p, r));
            }
        }
        // Exhaustive over every signature of up to 4 value types in total.
        let all = [I32, I64, F32, F64, FuncRef, ExternRef];
        let mut ids = BTreeMap::new();
        let mut count = 0;
        for total in 0..=4usize {
            let mut idx = vec![0usize; total];
            loop {
                let types: Vec<IdType> = idx.iter().map(|&i| all[i]).collect();
                for split in 0..=total {
                    let id = type_id(&types[..split], &types[split..]).expect("fits");
                    count += 1;
                    assert!(ids.insert(id, (split, types.clone())).is_none());
                }
                let mut k = 0;
                while k < total && idx[k] == all.len() - 1 {
                    idx[k] = 0;
                    k += 1;
                }
                if k == total {
                    break;
                }
                idx[k] += 1;
            }
        }
        assert_eq!(ids.len(), count);
    }

    #[test]
    fn long_signatures_do_not_fit() {
        assert!(type_id(&[I32; 20], &[I32]).is_some());
        assert!(type_id(&[F64; 8], &[F64]).is_none());
    }

    #[test]
    fn long_type_names_spell_the_same_bits_and_are_injective() {
        // A short id's bits, as bytes: 0x5ad for (i32) -> (i32).
        assert_eq!(type_id(&[I32], &[I32]), Some(0x5ad));
        assert_eq!(long_type_name(&[I32], &[I32]), "ad05");
        let a = long_type_name(&[F64; 8], &[F64]);
        let b = long_type_name(&[F64; 8], &[F32]);
        let c = long_type_name(&[F64; 9], &[]);
        assert!(a != b && b != c && a != c);
        assert_eq!(long_type_index(long_type_id(3)), Some(3));
        assert_eq!(long_type_index(0x5ad), None);
    }
}
