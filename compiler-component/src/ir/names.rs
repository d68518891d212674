//! Link-time names of `Symbol`s (see docs/ABI.md). Used by the object writer, the header and
//! the listings, so every stage spells a symbol the same way.

use crate::ir::table::Table;
use crate::ir::{FunctionKind, Global, Import, Memory, Module, Symbol};
use crate::legalize::INIT_NAME;

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

/// The symbol of an import of any kind: `MODULE_NAME`, both parts mangled. A module compiled
/// with `module_name` M defines its export E as `M_E`, so an import ("M", "E") links to it.
pub fn import_symbol(import: &Import) -> String {
    format!("{}_{}", mangle(&import.module), mangle(&import.name))
}

/// Turn a file name or user text into a namespace: a C identifier (letters, digits, `_`; any
/// other byte becomes `_`; a leading digit gets a leading `_`). Empty input gives `module`.
pub fn sanitize_namespace(text: &str) -> String {
    let mut out: String = text
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                b as char
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        out = "module".to_string();
    }
    if out.as_bytes()[0].is_ascii_digit() {
        out.insert(0, '_');
    }
    out
}

impl Module {
    /// `PREFIX_rest` for a symbol the module owns: `synth_rest` in the legacy naming.
    pub fn owned_symbol(&self, rest: &str) -> String {
        format!("{}_{rest}", self.namespace.as_deref().unwrap_or("synth"))
    }

    /// The symbol of export `name` of a function: `NS_name` with a namespace, `name` without.
    pub fn function_export_symbol(&self, name: &str) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}_{}", mangle(name)),
            None => mangle(name),
        }
    }

    /// The symbol of export `name` of a memory, global or table: `NS_name` with a namespace,
    /// `synth_KIND_name` (the legacy naming) without.
    pub fn data_export_symbol(&self, kind: &str, name: &str) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}_{}", mangle(name)),
            None => format!("synth_{kind}_{}", mangle(name)),
        }
    }

    /// Alias symbols of the second and later exports of a memory, global or table.
    pub fn data_export_aliases(&self, sym: Symbol) -> Vec<String> {
        let (kind, exports) = match sym {
            Symbol::Global(n) => match self.globals.get(n as usize) {
                Some(g) if g.import.is_none() => ("global", &g.exports),
                _ => return Vec::new(),
            },
            Symbol::Table(n) => match self.tables.tables.get(n as usize) {
                Some(t) if t.import.is_none() => ("table", &t.exports),
                _ => return Vec::new(),
            },
            Symbol::Memory => match &self.memory {
                Some(m) if m.import.is_none() && self.namespace.is_some() => ("memory", &m.exports),
                _ => return Vec::new(),
            },
            _ => return Vec::new(),
        };
        exports
            .iter()
            .skip(1)
            .map(|e| self.data_export_symbol(kind, e))
            .collect()
    }

    /// The re-exports: `(export symbol, import symbol)` for every export of an imported
    /// function, global, memory or table (and the size words of a memory), which the object
    /// does not define: the program defines each as an alias at link time (`NS_E = M_N;` in a
    /// linker script, or `--defsym=NS_E=M_N`).
    pub fn reexport_aliases(&self) -> Vec<(String, String)> {
        let mut aliases = Vec::new();
        for decl in &self.functions {
            if let FunctionKind::Imported(imp) = &decl.kind {
                for e in &decl.exports {
                    aliases.push((self.function_export_symbol(e), import_symbol(imp)));
                }
            }
        }
        for g in &self.globals {
            if let Some(imp) = &g.import {
                for e in &g.exports {
                    aliases.push((self.data_export_symbol("global", e), import_symbol(imp)));
                }
            }
        }
        if let Some(Memory {
            import: Some(imp),
            exports,
            ..
        }) = &self.memory
        {
            for e in exports {
                let export = self.data_export_symbol("memory", e);
                let import = import_symbol(imp);
                aliases.push((format!("{export}_bytes"), format!("{import}_bytes")));
                aliases.push((export, import));
            }
        }
        for t in &self.tables.tables {
            if let Some(imp) = &t.import {
                for e in &t.exports {
                    aliases.push((self.data_export_symbol("table", e), import_symbol(imp)));
                }
            }
        }
        aliases.retain(|(export, import)| export != import);
        aliases
    }

    /// The ELF symbol name of `sym`.
    pub fn symbol_name(&self, sym: Symbol) -> String {
        match sym {
            Symbol::Function(n) => match self.functions.get(n as usize) {
                Some(decl) => match &decl.kind {
                    FunctionKind::Imported(imp) => import_symbol(imp),
                    FunctionKind::Library(call) => call.name.to_string(),
                    FunctionKind::Runtime(_)
                        if decl.exports.first().map(String::as_str) == Some(INIT_NAME) =>
                    {
                        self.owned_symbol("init")
                    }
                    _ if !decl.exports.is_empty() => self.function_export_symbol(&decl.exports[0]),
                    FunctionKind::Runtime(_) => format!("__synth_rt_{}", mangle(&decl.name)),
                    FunctionKind::Defined(_) => format!("__synth_func_{n}"),
                },
                None => format!("__synth_func_{n}"),
            },
            Symbol::Memory => self.memory_symbol(),
            Symbol::MemoryBytes => format!("{}_bytes", self.memory_symbol()),
            Symbol::Global(n) => match self.globals.get(n as usize) {
                Some(Global {
                    import: Some(imp), ..
                }) => import_symbol(imp),
                Some(g) if !g.exports.is_empty() => {
                    self.data_export_symbol("global", &g.exports[0])
                }
                _ => self.owned_symbol(&format!("global_{n}")),
            },
            Symbol::DataSegment(n) => format!("__synth_data_{n}"),
            Symbol::TrapHandler => "synth_trap".to_string(),
            Symbol::StackLimit => "__synth_stack_limit".to_string(),
            Symbol::Table(n) => match self.tables.tables.get(n as usize) {
                Some(Table {
                    import: Some(imp), ..
                }) => import_symbol(imp),
                Some(t) if !t.exports.is_empty() => self.data_export_symbol("table", &t.exports[0]),
                _ => self.owned_symbol(&format!("table_{n}")),
            },
            Symbol::FuncRef(n) => format!("__synth_funcref_{n}"),
            Symbol::Elem(n) => format!("__synth_elem_{n}"),
            Symbol::DataLength(n) => format!("__synth_data_len_{n}"),
            Symbol::TypeId(k) => match self.tables.long_type_ids.get(k as usize) {
                Some(hex) => format!("__synth_type_{hex}"),
                None => format!("__synth_type_missing_{k}"),
            },
        }
    }

    /// The linear memory's symbol: the import's, the first export's (with a namespace), or
    /// `PREFIX_memory`.
    fn memory_symbol(&self) -> String {
        match &self.memory {
            Some(Memory {
                import: Some(imp), ..
            }) => import_symbol(imp),
            Some(m) if self.namespace.is_some() && !m.exports.is_empty() => {
                self.data_export_symbol("memory", &m.exports[0])
            }
            _ => self.owned_symbol("memory"),
        }
    }

    /// Is the symbol global (visible to the linker) rather than local to the object?
    pub fn symbol_is_global(&self, sym: Symbol) -> bool {
        match sym {
            Symbol::Function(n) => self.functions.get(n as usize).is_some_and(|d| {
                matches!(d.kind, FunctionKind::Imported(_) | FunctionKind::Library(_))
                    || !d.exports.is_empty()
            }),
            Symbol::Memory
            | Symbol::MemoryBytes
            | Symbol::TrapHandler
            | Symbol::StackLimit
            | Symbol::TypeId(_) => true,
            Symbol::Global(n) => self
                .globals
                .get(n as usize)
                .is_some_and(|g| !g.exports.is_empty() || g.import.is_some()),
            Symbol::Table(n) => self
                .tables
                .tables
                .get(n as usize)
                .is_some_and(|t| !t.exports.is_empty() || t.import.is_some()),
            Symbol::DataSegment(_)
            | Symbol::DataLength(_)
            | Symbol::FuncRef(_)
            | Symbol::Elem(_) => false,
        }
    }

    /// Is `sym` defined outside the object (imports, embedder hooks, library helpers)?
    pub fn symbol_is_external(&self, sym: Symbol) -> bool {
        match sym {
            Symbol::Function(n) => self.functions.get(n as usize).is_some_and(|d| {
                matches!(d.kind, FunctionKind::Imported(_) | FunctionKind::Library(_))
            }),
            Symbol::TrapHandler | Symbol::StackLimit => true,
            Symbol::Memory | Symbol::MemoryBytes => {
                self.memory.as_ref().is_some_and(|m| m.import.is_some())
            }
            Symbol::Global(n) => self
                .globals
                .get(n as usize)
                .is_some_and(|g| g.import.is_some()),
            Symbol::Table(n) => self
                .tables
                .tables
                .get(n as usize)
                .is_some_and(|t| t.import.is_some()),
            Symbol::DataSegment(_)
            | Symbol::DataLength(_)
            | Symbol::FuncRef(_)
            | Symbol::Elem(_)
            | Symbol::TypeId(_) => false,
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
