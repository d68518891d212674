//! Link-time names of `Symbol`s (see docs/ABI.md). Used by the object writer, the header and
//! the listings, so every stage spells a symbol the same way.

use crate::ir::{FunctionKind, Module, Symbol};

/// Make `name` a valid C identifier: letters, digits and `_` stay, any other byte becomes
/// `_xHH`, and a leading digit gets a `_` in front.
pub fn mangle(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    if name.as_bytes().first().is_some_and(|b| b.is_ascii_digit()) || name.is_empty() {
        out.push('_');
    }
    for &b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
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
        }
    }

    /// Is the symbol global (visible to the linker) rather than local to the object?
    pub fn symbol_is_global(&self, sym: Symbol) -> bool {
        match sym {
            Symbol::Function(n) => self.functions.get(n as usize).is_some_and(|d| {
                matches!(d.kind, FunctionKind::Imported(_)) || !d.exports.is_empty()
            }),
            Symbol::Memory | Symbol::MemoryBytes | Symbol::TrapHandler | Symbol::StackLimit => true,
            Symbol::Global(n) => self
                .globals
                .get(n as usize)
                .is_some_and(|g| !g.exports.is_empty()),
            Symbol::DataSegment(_) => false,
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
        assert_eq!(mangle("1st"), "_1st");
        assert_eq!(mangle(""), "_");
    }
}
