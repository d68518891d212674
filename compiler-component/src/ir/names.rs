//! Link-time names of `Symbol`s (see docs/ABI.md). Used by the object writer, the header and
//! the listings, so every stage spells a symbol the same way.

use crate::ir::{FunctionKind, Module, Symbol};

/// Make `name` a valid C identifier, injectively (two different names never meet): letters,
/// digits and `_` stay; any other byte, a leading digit, and the `_` of a literal `_x` become
/// `_xHH`; the empty name is `_x`. `_x` therefore always starts an escape.
pub fn mangle(name: &str) -> String {
    if name.is_empty() {
        return "_x".to_string();
    }
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    for (i, &b) in bytes.iter().enumerate() {
        let keep = (b.is_ascii_alphanumeric() && !(i == 0 && b.is_ascii_digit()))
            || (b == b'_' && bytes.get(i + 1) != Some(&b'x'));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("_x{b:02x}"));
        }
    }
    out
}

impl Module {
    /// The ELF symbol name of `sym`.
    pub fn symbol_name(&self, sym: Symbol) -> String {
        match sym {
            Symbol::Function(n) => match self.functions.get(n as usize) {
                Some(decl) => match &decl.kind {
                    FunctionKind::Imported(imp) => {
                        format!("{}_{}", mangle(&imp.module), mangle(&imp.name))
                    }
                    FunctionKind::Library(call) => call.name.to_string(),
                    _ if !decl.exports.is_empty() => mangle(&decl.exports[0]),
                    FunctionKind::Runtime(_) => format!("__synth_rt_{}", mangle(&decl.name)),
                    FunctionKind::Defined(_) => format!("__synth_func_{n}"),
                },
                None => format!("__synth_func_{n}"),
            },
            Symbol::Memory => "synth_memory".to_string(),
            Symbol::MemoryBytes => "synth_memory_bytes".to_string(),
            Symbol::Global(n) => match self.globals.get(n as usize) {
                Some(g) if !g.exports.is_empty() => {
                    format!("synth_global_{}", mangle(&g.exports[0]))
                }
                _ => format!("synth_global_{n}"),
            },
            Symbol::DataSegment(n) => format!("__synth_data_{n}"),
            Symbol::TrapHandler => "synth_trap".to_string(),
            Symbol::StackLimit => "__synth_stack_limit".to_string(),
            Symbol::Table(n) => match self.tables.tables.get(n as usize) {
                Some(t) if !t.exports.is_empty() => {
                    format!("synth_table_{}", mangle(&t.exports[0]))
                }
                _ => format!("synth_table_{n}"),
            },
            Symbol::FuncRef(n) => format!("__synth_funcref_{n}"),
            Symbol::Elem(n) => format!("__synth_elem_{n}"),
            Symbol::DataLength(n) => format!("__synth_data_len_{n}"),
        }
    }

    /// Is the symbol global (visible to the linker) rather than local to the object?
    pub fn symbol_is_global(&self, sym: Symbol) -> bool {
        match sym {
            Symbol::Function(n) => self.functions.get(n as usize).is_some_and(|d| {
                matches!(d.kind, FunctionKind::Imported(_) | FunctionKind::Library(_))
                    || !d.exports.is_empty()
            }),
            Symbol::Memory | Symbol::MemoryBytes | Symbol::TrapHandler | Symbol::StackLimit => true,
            Symbol::Global(n) => self
                .globals
                .get(n as usize)
                .is_some_and(|g| !g.exports.is_empty()),
            Symbol::Table(n) => self
                .tables
                .tables
                .get(n as usize)
                .is_some_and(|t| !t.exports.is_empty()),
            Symbol::DataSegment(_)
            | Symbol::DataLength(_)
            | Symbol::FuncRef(_)
            | Symbol::Elem(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mangle;

    #[test]
    fn mangling_keeps_identifiers_and_escapes_the_rest() {
        assert_eq!(mangle("add_two"), "add_two");
        assert_eq!(mangle("i32.add"), "i32_x2eadd");
        assert_eq!(mangle("1st"), "_x31st");
        assert_eq!(mangle(""), "_x");
        assert_eq!(mangle("_"), "_");
        assert_eq!(mangle("_x2e"), "_x5fx2e");
    }

    #[test]
    fn mangling_is_injective() {
        let names = [
            "", "_", "_x", "x", ".", "_x2e", "1", "_1", "_x31", "a.b", "a_x2eb", "__", "_x5f",
        ];
        let mut seen = std::collections::BTreeMap::new();
        for n in names {
            if let Some(prev) = seen.insert(mangle(n), n) {
                panic!("{prev:?} and {n:?} both mangle to {}", mangle(n));
            }
        }
    }
}
