//! ELF relocatable object writer and C header.
//!
//! Layout (see docs/ABI.md): one `.text.SYMBOL` section per compiled body, then the data
//! sections (`.bss.synth_memory`, `.data.synth_memory_bytes`, `.data.synth_globals`,
//! `.rodata.synth_data`), then the target's attributes section. Sections and symbols are added
//! in module order only, so the same module always gives the same bytes.

pub mod header;
mod tables;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use object::write::{Object, Relocation, SectionId, Symbol as ObjSymbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, FileFlags, RelocationFlags, SectionFlags, SectionKind,
    SymbolFlags, SymbolKind, SymbolScope,
};

use crate::error::{CompileError, ErrorKind, Result};
use crate::ir::{FunctionKind, Module, Symbol, Type};
use crate::isa::{CompiledFunction, ElfInfo, LineKind};
use crate::options::Options;
use crate::report::Footprint;

const WASM_PAGE_BYTES: u64 = 65536;

/// Write the ELF object for `module`, whose bodies compiled to `functions` (same order), and
/// measure what it takes of flash and RAM.
pub fn write_elf(
    module: &Module,
    functions: &[CompiledFunction],
    options: &Options,
) -> Result<(Vec<u8>, Footprint)> {
    build_elf(module, functions, &crate::isa::elf_info(options.target))
}

/// `write_elf` with an explicit ELF identification (the tests use hand-made ones).
#[cfg(test)]
pub(crate) fn write_elf_for(
    module: &Module,
    functions: &[CompiledFunction],
    elf: &ElfInfo,
) -> Result<Vec<u8>> {
    build_elf(module, functions, elf).map(|(bytes, _)| bytes)
}

fn build_elf(
    module: &Module,
    functions: &[CompiledFunction],
    elf: &ElfInfo,
) -> Result<(Vec<u8>, Footprint)> {
    if functions.len() != module.bodies.len() {
        return Err(CompileError::internal(format!(
            "object writer got {} compiled functions for {} bodies",
            functions.len(),
            module.bodies.len()
        )));
    }
    let mut writer = ElfWriter::new(module, elf)?;
    for (body, compiled) in module.bodies.iter().zip(functions) {
        writer
            .add_function(body.index, compiled)
            .map_err(|e| e.in_function(body.name.clone()))?;
    }
    writer.add_data()?;
    let data_relocs = writer.add_tables()?;
    let from_data: Vec<Symbol> = data_relocs.iter().map(|r| r.symbol).collect();
    let referenced: BTreeSet<Symbol> = functions
        .iter()
        .flat_map(|f| f.relocs.iter().map(|r| r.symbol))
        .chain(from_data.iter().copied())
        .collect();
    writer.add_type_ids(&referenced)?;
    writer.add_undefined_symbols(functions, &from_data)?;
    writer.add_data_relocations(&data_relocs)?;
    for (body, compiled) in module.bodies.iter().zip(functions) {
        writer
            .add_relocations(body.index, compiled)
            .map_err(|e| e.in_function(body.name.clone()))?;
    }
    writer.add_attributes();
    let footprint = writer.footprint();
    let bytes = writer
        .object
        .write()
        .map_err(|e| CompileError::internal(format!("writing the ELF object: {e}")))?;
    Ok((bytes, footprint))
}

/// ELF relocation conventions of the two supported machines.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Machine {
    /// REL relocations (addend in the instruction), Thumb code.
    Arm,
    /// RELA relocations, compressed instructions.
    Riscv32,
}

impl Machine {
    fn from_elf(machine: u16) -> Result<Machine> {
        match machine {
            m if m == object::elf::EM_ARM.0 => Ok(Machine::Arm),
            m if m == object::elf::EM_RISCV.0 => Ok(Machine::Riscv32),
            other => Err(CompileError::internal(format!(
                "the back end reports ELF machine {other}, which the object writer does not know"
            ))),
        }
    }
    fn architecture(self) -> Architecture {
        match self {
            Machine::Arm => Architecture::Arm,
            Machine::Riscv32 => Architecture::Riscv32,
        }
    }
    /// Bytes a relocation of type `r_type` patches (unknown types: the smallest instruction).
    fn relocated_bytes(self, r_type: u32) -> u64 {
        use object::elf as e;
        let r = e::RelocationType(r_type);
        match self {
            // Thumb16 branches (B, B<cond>, CBZ), a Thumb16 literal load, absolute 16/8-bit data.
            Machine::Arm
                if [
                    e::R_ARM_THM_PC11,
                    e::R_ARM_THM_PC9,
                    e::R_ARM_THM_JUMP6,
                    e::R_ARM_THM_PC8,
                    e::R_ARM_ABS16,
                ]
                .contains(&r) =>
            {
                2
            }
            Machine::Arm if r == e::R_ARM_ABS8 => 1,
            Machine::Arm => 4,
            Machine::Riscv32 if r == e::R_RISCV_CALL || r == e::R_RISCV_CALL_PLT => 8,
            Machine::Riscv32 if r == e::R_RISCV_RELAX || r == e::R_RISCV_ALIGN => 0,
            Machine::Riscv32 if r == e::R_RISCV_RVC_BRANCH || r == e::R_RISCV_RVC_JUMP => 2,
            Machine::Riscv32 => 4,
        }
    }
    /// Code section alignment: Thumb-2 literal loads want 4, RVC instructions need only 2.
    fn code_align(self) -> u64 {
        match self {
            Machine::Arm => 4,
            Machine::Riscv32 => 2,
        }
    }
}

struct ElfWriter<'m> {
    module: &'m Module,
    elf: &'m ElfInfo,
    machine: Machine,
    object: Object<'static>,
    /// Text section of each defined function, by function index.
    sections: BTreeMap<u32, SectionId>,
    /// Object symbol of every IR symbol defined or referenced so far.
    symbols: BTreeMap<Symbol, SymbolId>,
    /// Every non-mapping symbol name, with what it names (to report collisions).
    names: BTreeMap<String, String>,
    /// Every section added, with its kind: what the footprint sums.
    section_kinds: Vec<(SectionId, SectionKind)>,
    /// Size of the zero-initialized sections (their data is not stored).
    bss_bytes: u64,
}

impl<'m> ElfWriter<'m> {
    fn new(module: &'m Module, elf: &'m ElfInfo) -> Result<Self> {
        let machine = Machine::from_elf(elf.machine)?;
        let mut object = Object::new(
            BinaryFormat::Elf,
            machine.architecture(),
            Endianness::Little,
        );
        object.flags = FileFlags::Elf {
            os_abi: object::elf::ELFOSABI_NONE,
            abi_version: 0,
            e_flags: object::elf::FileFlags(elf.flags),
        };
        object.mangling = object::write::Mangling::None;
        Ok(ElfWriter {
            module,
            elf,
            machine,
            object,
            sections: BTreeMap::new(),
            symbols: BTreeMap::new(),
            names: BTreeMap::new(),
            section_kinds: Vec::new(),
            bss_bytes: 0,
        })
    }

    /// Reserve `name` for `what`; two symbols with one name would silently merge at link time.
    fn claim_name(&mut self, name: &str, what: impl Into<String>) -> Result<()> {
        let what = what.into();
        if let Some(previous) = self.names.get(name) {
            return Err(CompileError::new(
                ErrorKind::Unsupported,
                format!("the symbol name `{name}` would name both {previous} and {what}"),
            ));
        }
        self.names.insert(name.to_string(), what);
        Ok(())
    }

    fn add_section(&mut self, name: String, kind: SectionKind) -> SectionId {
        let id = self.object.add_section(Vec::new(), name.into_bytes(), kind);
        self.section_kinds.push((id, kind));
        id
    }

    /// Bytes of each kind of memory the object's sections take (before the linker drops
    /// unreferenced ones with `--gc-sections`).
    fn footprint(&self) -> Footprint {
        let mut footprint = Footprint::default();
        for &(id, kind) in &self.section_kinds {
            // Zero-initialized sections store no data (and `data()` refuses them).
            let slot = match kind {
                SectionKind::Text => &mut footprint.text,
                SectionKind::ReadOnlyData => &mut footprint.rodata,
                SectionKind::Data => &mut footprint.data,
                _ => continue,
            };
            let size = u32::try_from(self.object.section(id).data().len()).unwrap_or(u32::MAX);
            *slot = slot.saturating_add(size);
        }
        footprint.bss = u32::try_from(self.bss_bytes).unwrap_or(u32::MAX);
        footprint
    }

    fn scope(global: bool) -> SymbolScope {
        if global {
            SymbolScope::Dynamic
        } else {
            SymbolScope::Compilation
        }
    }

    fn add_function(&mut self, index: u32, compiled: &CompiledFunction) -> Result<()> {
        let decl = self.module.functions.get(index as usize).ok_or_else(|| {
            CompileError::internal(format!("body of unknown function index {index}"))
        })?;
        if matches!(
            decl.kind,
            FunctionKind::Imported(_) | FunctionKind::Library(_)
        ) {
            return Err(CompileError::internal(format!(
                "function {index} is external but has a body"
            )));
        }
        let sym = Symbol::Function(index);
        let name = self.module.symbol_name(sym);
        let global = self.module.symbol_is_global(sym);
        let size = compiled.code.len() as u64;
        let section = self.add_section(format!(".text.{name}"), SectionKind::Text);
        self.object
            .section_mut(section)
            .set_data(compiled.code.clone(), self.machine.code_align());
        self.sections.insert(index, section);

        // A Thumb function's address has bit 0 set so calls through it stay in Thumb state.
        let value = u64::from(self.elf.thumb);
        self.claim_name(&name, format!("function {}", decl.name))?;
        let id = self.object.add_symbol(ObjSymbol {
            name: name.into_bytes(),
            value,
            size,
            kind: SymbolKind::Text,
            scope: Self::scope(global),
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        });
        self.symbols.insert(sym, id);
        // The first export name is the symbol itself; the others are aliases.
        for export in decl.exports.iter().skip(1) {
            let alias = self.module.function_export_symbol(export);
            self.claim_name(&alias, format!("export `{export}`"))?;
            self.object.add_symbol(ObjSymbol {
                name: alias.into_bytes(),
                value,
                size,
                kind: SymbolKind::Text,
                scope: SymbolScope::Dynamic,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
        }
        if self.elf.thumb {
            self.add_mapping_symbols(section, compiled)?;
        }
        Ok(())
    }

    /// ARM mapping symbols: `$t` where Thumb code starts, `$d` where data (literal pools, jump
    /// tables) starts, so disassemblers and linkers know which bytes are instructions.
    fn add_mapping_symbols(
        &mut self,
        section: SectionId,
        compiled: &CompiledFunction,
    ) -> Result<()> {
        let mut marks: Vec<(u32, &'static str)> = vec![(0, "$t")];
        for line in &compiled.listing {
            let wanted = if line.kind == LineKind::Data {
                "$d"
            } else {
                "$t"
            };
            let current = marks.last().map_or("$t", |m| m.1);
            if wanted != current {
                if line.offset as usize > compiled.code.len() {
                    return Err(CompileError::internal(format!(
                        "listing line at offset {} is beyond the code ({} bytes)",
                        line.offset,
                        compiled.code.len()
                    )));
                }
                // A data line at offset 0 replaces the initial `$t`.
                if marks.last().is_some_and(|m| m.0 == line.offset) {
                    marks.pop();
                }
                marks.push((line.offset, wanted));
            }
        }
        for (offset, name) in marks {
            self.object.add_symbol(ObjSymbol {
                name: name.as_bytes().to_vec(),
                value: u64::from(offset),
                size: 0,
                kind: SymbolKind::Label,
                scope: SymbolScope::Compilation,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
        }
        Ok(())
    }

    fn add_data_symbol(
        &mut self,
        sym: Symbol,
        section: SectionId,
        offset: u64,
        size: u64,
        what: String,
    ) -> Result<()> {
        let name = self.module.symbol_name(sym);
        self.claim_name(&name, what)?;
        let id = self.object.add_symbol(ObjSymbol {
            name: name.into_bytes(),
            value: offset,
            size,
            kind: SymbolKind::Data,
            scope: Self::scope(self.module.symbol_is_global(sym)),
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        });
        self.symbols.insert(sym, id);
        for alias in self.module.data_export_aliases(sym) {
            self.claim_name(&alias, format!("an export of {:?}", sym))?;
            self.object.add_symbol(ObjSymbol {
                name: alias.into_bytes(),
                value: offset,
                size,
                kind: SymbolKind::Data,
                scope: SymbolScope::Dynamic,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            });
        }
        Ok(())
    }

    fn add_data(&mut self) -> Result<()> {
        let module = self.module;
        if let Some(memory) = module.memory.as_ref().filter(|m| m.import.is_none()) {
            let bytes = u64::from(memory.max_pages) * WASM_PAGE_BYTES;
            if bytes > u64::from(u32::MAX) {
                return Err(CompileError::limit(format!(
                    "a linear memory of {} pages does not fit a 32-bit address space",
                    memory.max_pages
                )));
            }
            let section = self.add_section(
                ".bss.synth_memory".to_string(),
                SectionKind::UninitializedData,
            );
            let offset = self.object.append_section_bss(section, bytes, 8);
            self.bss_bytes += bytes;
            self.add_data_symbol(
                Symbol::Memory,
                section,
                offset,
                bytes,
                "the linear memory".into(),
            )?;

            // Zero until `synth_init` stores the initial size, so nothing is valid before it runs.
            let section =
                self.add_section(".data.synth_memory_bytes".to_string(), SectionKind::Data);
            let offset = self.object.append_section_data(section, &[0; 4], 4);
            self.add_data_symbol(
                Symbol::MemoryBytes,
                section,
                offset,
                4,
                "the memory size".into(),
            )?;
        }
        if module.globals.iter().any(|g| g.import.is_none()) {
            let section = self.add_section(".data.synth_globals".to_string(), SectionKind::Data);
            for (n, global) in module.globals.iter().enumerate() {
                let n = n as u32;
                if global.import.is_some() {
                    continue;
                }
                let (bytes, align): (Vec<u8>, u64) = match global.ty {
                    Type::I32 | Type::F32 => ((global.init as u32).to_le_bytes().to_vec(), 4),
                    Type::I64 | Type::F64 => (global.init.to_le_bytes().to_vec(), 8),
                };
                let offset = self.object.append_section_data(section, &bytes, align);
                self.add_data_symbol(
                    Symbol::Global(n),
                    section,
                    offset,
                    bytes.len() as u64,
                    format!("global {n}"),
                )?;
            }
        }
        if module.data.iter().any(|d| !d.bytes.is_empty()) {
            let section =
                self.add_section(".rodata.synth_data".to_string(), SectionKind::ReadOnlyData);
            for (n, segment) in module.data.iter().enumerate() {
                let n = n as u32;
                if segment.bytes.is_empty() {
                    continue;
                }
                // Word alignment lets the initializer copy whole words.
                let offset = self.object.append_section_data(section, &segment.bytes, 4);
                self.add_data_symbol(
                    Symbol::DataSegment(n),
                    section,
                    offset,
                    segment.bytes.len() as u64,
                    format!("data segment {n}"),
                )?;
            }
        }
        // Passive segments `memory.init` reads: their length word, 0 once dropped.
        if module
            .data
            .iter()
            .any(|d| d.offset.is_none() && !d.bytes.is_empty())
        {
            let section = self.add_section(".data.synth_data_lens".to_string(), SectionKind::Data);
            for (n, segment) in module.data.iter().enumerate() {
                if segment.offset.is_some() || segment.bytes.is_empty() {
                    continue;
                }
                let n = n as u32;
                let len = segment.bytes.len() as u32;
                let offset = self
                    .object
                    .append_section_data(section, &len.to_le_bytes(), 4);
                self.add_data_symbol(
                    Symbol::DataLength(n),
                    section,
                    offset,
                    4,
                    format!("the length of data segment {n}"),
                )?;
            }
        }
        Ok(())
    }

    /// Undefined symbols for the imports and embedder hooks the code refers to, in symbol order
    /// (imports by index, then `synth_trap`, then `__synth_stack_limit`).
    fn add_undefined_symbols(
        &mut self,
        functions: &[CompiledFunction],
        from_data: &[Symbol],
    ) -> Result<()> {
        let referenced: BTreeSet<Symbol> = functions
            .iter()
            .flat_map(|f| f.relocs.iter().map(|r| r.symbol))
            .chain(from_data.iter().copied())
            .collect();
        // A module may import one name several times: those imports share one undefined
        // symbol. (An import named like an embedder hook is a collision, reported below.)
        let mut imports: BTreeMap<String, SymbolId> = BTreeMap::new();
        for sym in referenced {
            if self.symbols.contains_key(&sym) || !self.is_external(sym) {
                continue;
            }
            let name = self.module.symbol_name(sym);
            let is_import = matches!(
                sym,
                Symbol::Function(_) | Symbol::Global(_) | Symbol::Table(_)
            );
            if let Some(&id) = imports.get(&name).filter(|_| is_import) {
                self.symbols.insert(sym, id);
                continue;
            }
            self.claim_name(&name, format!("the external symbol `{name}`"))?;
            let id = self.object.add_symbol(ObjSymbol {
                name: name.clone().into_bytes(),
                value: 0,
                size: 0,
                kind: SymbolKind::Unknown,
                scope: SymbolScope::Unknown,
                weak: false,
                section: SymbolSection::Undefined,
                flags: SymbolFlags::None,
            });
            if is_import {
                imports.insert(name, id);
            }
            self.symbols.insert(sym, id);
        }
        Ok(())
    }

    /// Is `sym` provided from outside the object (imports and embedder hooks)?
    fn is_external(&self, sym: Symbol) -> bool {
        self.module.symbol_is_external(sym)
    }

    fn add_relocations(&mut self, index: u32, compiled: &CompiledFunction) -> Result<()> {
        let section = self.sections.get(&index).copied().ok_or_else(|| {
            CompileError::internal(format!("no text section for function {index}"))
        })?;
        for reloc in &compiled.relocs {
            let symbol = self.symbols.get(&reloc.symbol).copied().ok_or_else(|| {
                CompileError::internal(format!(
                    "relocation against {:?}, which the module does not define",
                    reloc.symbol
                ))
            })?;
            let width = self.machine.relocated_bytes(reloc.r_type);
            if u64::from(reloc.offset) + width > compiled.code.len() as u64 {
                return Err(CompileError::internal(format!(
                    "relocation at offset {} is outside the code ({} bytes)",
                    reloc.offset,
                    compiled.code.len()
                )));
            }
            let addend = match self.machine {
                // REL: the emitter encoded the addend in the instruction. A nonzero addend here
                // would make the object crate overwrite the instruction with it.
                Machine::Arm if reloc.addend != 0 => {
                    return Err(CompileError::internal(format!(
                        "ARM relocation at offset {} has an explicit addend {}; REL relocations \
                         keep it in the instruction",
                        reloc.offset, reloc.addend
                    )));
                }
                Machine::Arm => 0,
                Machine::Riscv32 => reloc.addend,
            };
            self.object
                .add_relocation(
                    section,
                    Relocation {
                        offset: u64::from(reloc.offset),
                        symbol,
                        addend,
                        flags: RelocationFlags::Elf {
                            r_type: object::elf::RelocationType(reloc.r_type),
                        },
                    },
                )
                .map_err(|e| CompileError::internal(format!("adding a relocation: {e}")))?;
        }
        Ok(())
    }

    fn add_attributes(&mut self) {
        let (name, sh_type, contents) = &self.elf.attributes;
        if contents.is_empty() {
            return;
        }
        let section = self.add_section(name.to_string(), SectionKind::Other);
        let section = self.object.section_mut(section);
        section.set_data(contents.clone(), 1);
        section.flags = SectionFlags::Elf {
            sh_type: object::elf::SectionType(*sh_type),
            sh_flags: object::elf::SectionFlags(0),
        };
    }
}
