//! Table data: function descriptors (`.rodata.synth_funcrefs`), tables (`.data.synth_table_N`)
//! and element segments (`.data.synth_elems`), with the data relocations that put descriptor
//! and code addresses into them (see docs/ABI.md, "Tables and references").

use std::collections::BTreeSet;

use object::write::{Relocation, Symbol as ObjSymbol, SymbolSection};
use object::{RelocationFlags, SectionKind};
use object::{SymbolFlags, SymbolKind, SymbolScope};

use super::{ElfWriter, Machine};
use crate::error::{CompileError, Result};
use crate::ir::Symbol;
use crate::ir::table::{RefValue, long_type_index};

/// A word of data that holds the address of `symbol` (applied once every symbol exists).
pub(super) struct DataReloc {
    pub section: object::write::SectionId,
    pub offset: u64,
    pub symbol: Symbol,
}

impl ElfWriter<'_> {
    /// Append words to `section`, recording a relocation for every reference; returns the
    /// offset of the first word.
    fn append_refs(
        &mut self,
        section: object::write::SectionId,
        head: &[u32],
        refs: &[RefValue],
        pad: usize,
        relocs: &mut Vec<DataReloc>,
    ) -> u64 {
        let mut bytes = Vec::with_capacity(4 * (head.len() + refs.len() + pad));
        for w in head {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let first_ref = bytes.len() as u64;
        bytes.resize(bytes.len() + 4 * (refs.len() + pad), 0);
        let offset = self.object.append_section_data(section, &bytes, 4);
        for (k, r) in refs.iter().enumerate() {
            if let RefValue::Func(f) = r {
                relocs.push(DataReloc {
                    section,
                    offset: offset + first_ref + 4 * k as u64,
                    symbol: Symbol::FuncRef(*f),
                });
            }
        }
        offset
    }

    pub(super) fn add_tables(&mut self) -> Result<Vec<DataReloc>> {
        let tables = &self.module.tables;
        let mut relocs = Vec::new();
        if !tables.funcrefs.is_empty() {
            let section = self.add_section(
                ".rodata.synth_funcrefs".to_string(),
                SectionKind::ReadOnlyData,
            );
            for (&f, &type_id) in &tables.funcrefs {
                let long = long_type_index(type_id);
                let word = if long.is_some() { 0 } else { type_id };
                let mut bytes = word.to_le_bytes().to_vec();
                bytes.extend_from_slice(&[0; 4]);
                let offset = self.object.append_section_data(section, &bytes, 4);
                if let Some(k) = long {
                    // A long type id is the address of its symbol.
                    relocs.push(DataReloc {
                        section,
                        offset,
                        symbol: Symbol::TypeId(k),
                    });
                }
                relocs.push(DataReloc {
                    section,
                    offset: offset + 4,
                    symbol: Symbol::Function(f),
                });
                self.add_data_symbol(
                    Symbol::FuncRef(f),
                    section,
                    offset,
                    8,
                    format!("the descriptor of function {f}"),
                )?;
            }
        }
        for (n, table) in tables.tables.iter().enumerate() {
            let n = n as u32;
            if table.import.is_some() {
                // The exporter (or the embedder) defines it.
                continue;
            }
            let name = self.module.symbol_name(Symbol::Table(n));
            let section = self.add_section(format!(".data.{name}"), SectionKind::Data);
            if table.init.len() != table.initial as usize || table.max < table.initial {
                return Err(CompileError::internal(format!("table {n} is inconsistent")));
            }
            let pad = (table.max - table.initial) as usize;
            let offset = self.append_refs(section, &[table.initial], &table.init, pad, &mut relocs);
            self.add_data_symbol(
                Symbol::Table(n),
                section,
                offset,
                4 + 4 * table.max as u64,
                format!("table {n}"),
            )?;
        }
        if !tables.elems.is_empty() {
            let section = self.add_section(".data.synth_elems".to_string(), SectionKind::Data);
            for (n, segment) in tables.elems.iter().enumerate() {
                let n = n as u32;
                let len = segment.items.len() as u32;
                let offset = self.append_refs(section, &[len], &segment.items, 0, &mut relocs);
                self.add_data_symbol(
                    Symbol::Elem(n),
                    section,
                    offset,
                    4 + 4 * len as u64,
                    format!("element segment {n}"),
                )?;
            }
        }
        Ok(relocs)
    }

    /// The long type ids `referenced` (by code or data): each a weak, global 4-byte symbol
    /// `__synth_type_<HEX>` in its own section, defined by every object that needs it, so the
    /// linker keeps one and its address is the same id in every module.
    pub(super) fn add_type_ids(&mut self, referenced: &BTreeSet<Symbol>) -> Result<()> {
        for &sym in referenced {
            let Symbol::TypeId(_) = sym else { continue };
            if self.symbols.contains_key(&sym) {
                continue;
            }
            let name = self.module.symbol_name(sym);
            let section = self.add_section(format!(".rodata.{name}"), SectionKind::ReadOnlyData);
            let offset = self.object.append_section_data(section, &[0; 4], 4);
            self.claim_name(&name, format!("the type id `{name}`"))?;
            let id = self.object.add_symbol(ObjSymbol {
                name: name.into_bytes(),
                value: offset,
                size: 4,
                kind: SymbolKind::Data,
                scope: SymbolScope::Dynamic,
                weak: true,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
            self.symbols.insert(sym, id);
        }
        Ok(())
    }

    /// The 32-bit absolute relocations of the table data.
    pub(super) fn add_data_relocations(&mut self, relocs: &[DataReloc]) -> Result<()> {
        let r_type = match self.machine {
            Machine::Arm => object::elf::R_ARM_ABS32,
            Machine::Riscv32 => object::elf::R_RISCV_32,
        };
        for reloc in relocs {
            let symbol = self.symbols.get(&reloc.symbol).copied().ok_or_else(|| {
                CompileError::internal(format!(
                    "data relocation against missing {:?}",
                    reloc.symbol
                ))
            })?;
            self.object
                .add_relocation(
                    reloc.section,
                    Relocation {
                        offset: reloc.offset,
                        symbol,
                        addend: 0,
                        flags: RelocationFlags::Elf { r_type },
                    },
                )
                .map_err(|e| CompileError::internal(format!("adding a data relocation: {e}")))?;
        }
        Ok(())
    }
}
