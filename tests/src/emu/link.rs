//! Link relocatable objects into a static image with `ld.lld` and a generated linker script,
//! followed by the platform's libgcc (the soft-float helpers synth's objects call).
//!
//! Memory map (same for both ISAs):
//! - code at `CODE_BASE`: the harness stub area (the return address, `synth_trap` and one stub
//!   per import), then `.text*`. Stubs sit right before the code so short branches reach them.
//! - RAM at `RAM_BASE`: the stack (`STACK_SIZE`, growing down; the stack-limit word lives at the
//!   very bottom and `__synth_stack_limit` points to it), then `.rodata*`, `.data*`, `.bss*`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use object::read::elf::{ElfFile32, FileHeader, ProgramHeader};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use synth_compiler::Isa;

use super::platform::Platform;
use crate::HarnessError;

pub const CODE_BASE: u32 = 0x0001_0000;
pub const RAM_BASE: u32 = 0x2000_0000;
pub const STACK_SIZE: u32 = 256 * 1024;
/// `__synth_stack_limit` holds this: a few hundred bytes above the bottom of the stack, so the
/// trap handler path itself still has room.
pub const STACK_LIMIT: u32 = RAM_BASE + 512;
/// Each stub is this many bytes apart.
pub const STUB_SPACING: u32 = 8;
/// Unicorn maps memory in pages; regions are rounded to this.
pub const REGION_ALIGN: u32 = 0x1_0000;

/// A loadable piece of the linked image.
#[derive(Clone, Debug)]
pub struct Segment {
    pub address: u32,
    pub bytes: Vec<u8>,
    /// Bytes of zeros after `bytes` (`.bss`).
    pub zero_fill: u32,
}

/// A statically linked program, ready to load into an emulator.
#[derive(Clone, Debug)]
pub struct LinkedImage {
    pub isa: Isa,
    pub segments: Vec<Segment>,
    /// Every named symbol: defined globals first, so a local cannot hide a global of the same name.
    pub symbols: BTreeMap<String, u32>,
    /// `st_size` of the named symbols that have one.
    pub symbol_sizes: BTreeMap<String, u32>,
    /// Address of the return stub; `synth_trap` is the next stub, then one per import in the order
    /// given to `link`.
    pub stub_base: u32,
    pub stub_count: u32,
    /// End of the RAM segments (bss included).
    pub ram_end: u32,
    pub code_end: u32,
    /// Allocated output sections in RAM (`.rodata`, `.data`, `.bss`, ...), by address.
    pub ram_sections: Vec<SectionExtent>,
}

/// Where an allocated output section of the image lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionExtent {
    pub name: String,
    pub address: u32,
    pub size: u32,
    /// `SHF_WRITE`: the program may write it (`.data`, `.bss`); otherwise it is read-only data.
    pub writable: bool,
}

impl LinkedImage {
    pub fn symbol(&self, name: &str) -> Result<u32, HarnessError> {
        self.symbols
            .get(name)
            .copied()
            .ok_or_else(|| HarnessError::new(format!("the linked image has no symbol `{name}`")))
    }

    pub fn return_stub(&self) -> u32 {
        self.stub_base
    }

    pub fn trap_stub(&self) -> u32 {
        self.stub_base + STUB_SPACING
    }

    pub fn import_stub(&self, index: usize) -> u32 {
        self.stub_base + STUB_SPACING * (2 + index as u32)
    }
}

/// Run a tool, turning "not installed" and non-zero exits into errors that say what to do.
pub fn run_tool(command: &mut Command) -> Result<(), HarnessError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command.output().map_err(|e| {
        HarnessError::new(format!(
            "cannot run `{program}` ({e}); install it (Debian: apt-get install clang lld llvm)"
        ))
    })?;
    if !output.status.success() {
        return Err(HarnessError::new(format!(
            "`{program}` failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

/// The linker script: `import_symbols` each get a stub address the emulator intercepts.
pub fn linker_script(isa: Isa, import_symbols: &[String]) -> String {
    // On Thumb the stub symbols carry bit 0 so `bl` stays `bl` instead of becoming `blx`.
    let thumb_bit = match isa {
        Isa::Arm => 1,
        Isa::Rv32 => 0,
    };
    let stub_count = 2 + import_symbols.len() as u32;
    let mut script = String::new();
    // Explicit segments: a read-only section after the code (e.g. `.ARM.exidx`) must not share
    // a segment with `.rodata` in RAM, which would span the gap between the regions.
    script.push_str("ENTRY(__harness_stubs)\nPHDRS\n{\n  code PT_LOAD;\n  ram PT_LOAD;\n}\n");
    script.push_str("SECTIONS\n{\n");
    // Stubs first: sections the script does not name (orphans) are placed after `.text`, so
    // they can never overlap the stubs.
    script.push_str(&format!("  . = 0x{CODE_BASE:x};\n  __harness_stubs = .;\n"));
    script.push_str(&format!(
        "  synth_trap = __harness_stubs + {};\n",
        STUB_SPACING + thumb_bit
    ));
    for (index, symbol) in import_symbols.iter().enumerate() {
        script.push_str(&format!(
            "  {symbol} = __harness_stubs + {};\n",
            STUB_SPACING * (2 + index as u32) + thumb_bit
        ));
    }
    script.push_str(&format!(
        "  . = __harness_stubs + {};\n  . = ALIGN(16);\n",
        STUB_SPACING * stub_count
    ));
    script.push_str("  .text : { *(.text .text.*) } :code\n");
    // Unwind tables from C objects stay with the code.
    script.push_str("  .ARM.exidx : { *(.ARM.exidx .ARM.exidx.*) } :code\n");
    // libgcc's unwind data, also read-only.
    script.push_str("  .ARM.extab : { *(.ARM.extab .ARM.extab.*) } :code\n");
    script.push_str("  .eh_frame : { *(.eh_frame .eh_frame_hdr) } :code\n");
    script.push_str(&format!("  __synth_stack_limit = 0x{RAM_BASE:x};\n"));
    script.push_str(&format!("  . = 0x{:x};\n", RAM_BASE + STACK_SIZE));
    script.push_str("  .rodata : { *(.rodata .rodata.* .srodata .srodata.*) } :ram\n");
    script.push_str("  .data : { *(.data .data.* .sdata .sdata.*) }\n");
    script.push_str("  .bss : { *(.bss .bss.* .sbss .sbss.* COMMON) }\n");
    script.push_str("}\n");
    script
}

/// Link `objects` (ELF relocatables) for `platform`, giving each of `import_symbols` a stub.
/// The platform's libgcc comes last, for the soft-float helpers the objects call.
pub fn link(
    platform: &Platform,
    objects: &[&[u8]],
    import_symbols: &[String],
) -> Result<LinkedImage, HarnessError> {
    link_with(platform, objects, import_symbols, &LinkOptions::default()).map(|(image, _)| image)
}

/// Which linker makes the image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Linker {
    #[default]
    Lld,
    /// The GNU ld of the platform's GCC cross toolchain (`arm-none-eabi-ld`,
    /// `riscv64-unknown-elf-ld`): on RV32 it relaxes calls and branches (`call` -> `jal`,
    /// `c.j`), which ld.lld 14 does not.
    Gnu,
}

/// How `link_with` links.
#[derive(Clone, Debug, Default)]
pub struct LinkOptions {
    pub linker: Linker,
    /// With `--gc-sections`, the symbols kept (and everything they reach); empty: no gc.
    pub gc_roots: Vec<String>,
    /// `(alias, target)`: the linker script defines `alias = target;` (one module's import
    /// symbol naming another module's export).
    pub aliases: Vec<(String, String)>,
}

/// Link like `link`, with `options`; also returns the linker map (`text_by_input` reads it).
pub fn link_with(
    platform: &Platform,
    objects: &[&[u8]],
    import_symbols: &[String],
    options: &LinkOptions,
) -> Result<(LinkedImage, String), HarnessError> {
    let isa = platform.isa;
    let libgcc = platform.libgcc()?;
    let dir = crate::ScratchDir::new()?;
    let script_path = dir.path().join("image.ld");
    let mut script = linker_script(isa, import_symbols);
    for (alias, target) in &options.aliases {
        script.push_str(&format!("{alias} = {target};\n"));
    }
    write(&script_path, script.as_bytes())?;
    let output_path = dir.path().join("image.elf");
    let map_path = dir.path().join("image.map");
    let mut command = match options.linker {
        Linker::Lld => Command::new("ld.lld"),
        Linker::Gnu => {
            let mut command = Command::new(match isa {
                Isa::Arm => "arm-none-eabi-ld",
                Isa::Rv32 => "riscv64-unknown-elf-ld",
            });
            if isa == Isa::Rv32 {
                command.arg("-m").arg("elf32lriscv");
            }
            command
        }
    };
    command
        .arg("-static")
        .arg("--fatal-warnings")
        .arg("-T")
        .arg(&script_path)
        .arg("-Map")
        .arg(&map_path)
        .arg("-o")
        .arg(&output_path);
    if !options.gc_roots.is_empty() {
        command.arg("--gc-sections");
        for root in &options.gc_roots {
            command.arg("-u").arg(root);
        }
    }
    for (index, bytes) in objects.iter().enumerate() {
        let path = dir.path().join(format!("input{index}.o"));
        write(&path, bytes)?;
        command.arg(&path);
    }
    command.arg(&libgcc);
    run_tool(&mut command)?;
    let elf = std::fs::read(&output_path)
        .map_err(|e| HarnessError::new(format!("cannot read the linked image: {e}")))?;
    let map = std::fs::read_to_string(&map_path)
        .map_err(|e| HarnessError::new(format!("cannot read the linker map: {e}")))?;
    Ok((
        parse_image(isa, &elf, 2 + import_symbols.len() as u32)?,
        map,
    ))
}

/// Bytes of `.text*` input sections each input object (`objects[i]` of `link_with`) put in
/// the image, read from the linker map of ld.lld or GNU ld (sections removed by `--gc-sections`
/// are not in it; alignment padding between sections is not counted).
pub fn text_by_input(map: &str) -> BTreeMap<usize, u64> {
    let mut sizes = BTreeMap::new();
    let input_index = |text: &str| -> Option<usize> {
        let file = text.rsplit('/').next()?;
        let rest = file.strip_prefix("input")?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !rest[digits.len()..].starts_with(".o") {
            return None;
        }
        digits.parse().ok()
    };
    let hex = |t: &str| u64::from_str_radix(t.trim_start_matches("0x"), 16).ok();
    if map.contains("Linker script and memory map") {
        // GNU ld: ` .text.name  0xADDR  0xSIZE  file`, the name alone on its line when long.
        let body = &map[map.find("Linker script and memory map").unwrap_or(0)..];
        let mut pending: Option<String> = None;
        for line in body.lines() {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            let (name, rest) = match (tokens.as_slice(), &pending) {
                ([name], _) if line.starts_with(' ') && name.starts_with(".text") => {
                    pending = Some(name.to_string());
                    continue;
                }
                ([address, size, file], Some(name)) if address.starts_with("0x") => {
                    (name.clone(), [*size, *file])
                }
                ([name, address, size, file], _)
                    if line.starts_with(' ') && address.starts_with("0x") =>
                {
                    (name.to_string(), [*size, *file])
                }
                _ => {
                    pending = None;
                    continue;
                }
            };
            pending = None;
            if !(name == ".text" || name.starts_with(".text.")) {
                continue;
            }
            if let (Some(size), Some(index)) = (hex(rest[0]), input_index(rest[1])) {
                *sizes.entry(index).or_insert(0) += size;
            }
        }
    } else {
        // ld.lld: `VMA LMA SIZE ALIGN  path:(.text.name)`.
        for line in map.lines() {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            let [_, _, size, _, input] = tokens.as_slice() else {
                continue;
            };
            let Some((file, section)) = input.split_once(":(") else {
                continue;
            };
            let section = section.trim_end_matches(')');
            if !(section == ".text" || section.starts_with(".text.")) {
                continue;
            }
            if let (Some(size), Some(index)) = (hex(size), input_index(file)) {
                *sizes.entry(index).or_insert(0) += size;
            }
        }
    }
    sizes
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), HarnessError> {
    std::fs::write(path, bytes)
        .map_err(|e| HarnessError::new(format!("cannot write {}: {e}", path.display())))
}

fn parse_image(isa: Isa, elf: &[u8], stub_count: u32) -> Result<LinkedImage, HarnessError> {
    let bad = |e: object::Error| HarnessError::new(format!("cannot parse the linked image: {e}"));
    let file = ElfFile32::<object::LittleEndian>::parse(elf).map_err(bad)?;
    let endian = file.endian();
    let mut segments = Vec::new();
    let mut ram_end = RAM_BASE + STACK_SIZE;
    let mut code_end = CODE_BASE;
    for header in file
        .elf_header()
        .program_headers(endian, elf)
        .map_err(bad)?
    {
        if header.p_type(endian) != object::elf::PT_LOAD {
            continue;
        }
        let address = header.p_paddr(endian);
        let bytes = header
            .data(endian, elf)
            .map_err(|()| HarnessError::new("a segment lies outside the linked image"))?
            .to_vec();
        let memory_size = header.p_memsz(endian);
        let end = address
            .checked_add(memory_size)
            .ok_or_else(|| HarnessError::new("a segment wraps the address space"))?;
        if address >= RAM_BASE {
            ram_end = ram_end.max(end);
        } else if address >= CODE_BASE {
            code_end = code_end.max(end);
        } else {
            return Err(HarnessError::new(format!(
                "a segment at 0x{address:x} is below the code region"
            )));
        }
        segments.push(Segment {
            address,
            zero_fill: memory_size.saturating_sub(bytes.len() as u32),
            bytes,
        });
    }
    let mut ram_sections = Vec::new();
    for section in file.sections() {
        // Sections that are not allocated have address 0.
        let address = section.address() as u32;
        if address < RAM_BASE || section.size() == 0 {
            continue;
        }
        ram_sections.push(SectionExtent {
            name: section.name().unwrap_or("").to_string(),
            address,
            size: section.size() as u32,
            writable: matches!(
                section.kind(),
                object::SectionKind::Data | object::SectionKind::UninitializedData
            ),
        });
    }
    ram_sections.sort_by_key(|s| s.address);
    let mut symbols = BTreeMap::new();
    let mut symbol_sizes = BTreeMap::new();
    let mut locals = Vec::new();
    for symbol in file.symbols() {
        let Ok(name) = symbol.name() else { continue };
        if name.is_empty() || symbol.kind() == SymbolKind::File || symbol.is_undefined() {
            continue;
        }
        let address = symbol.address() as u32;
        if symbol.size() > 0 {
            symbol_sizes
                .entry(name.to_string())
                .or_insert(symbol.size() as u32);
        }
        if symbol.is_global() {
            symbols.insert(name.to_string(), address);
        } else {
            locals.push((name.to_string(), address));
        }
    }
    for (name, address) in locals {
        symbols.entry(name).or_insert(address);
    }
    let stub_base = *symbols
        .get("__harness_stubs")
        .ok_or_else(|| HarnessError::new("the linker script's stub symbol is missing"))?;
    code_end = code_end.max(stub_base + STUB_SPACING * stub_count);
    if code_end > RAM_BASE {
        return Err(HarnessError::new(
            "a segment spans from the code region into RAM (an unplaced allocated section?)",
        ));
    }
    Ok(LinkedImage {
        isa,
        segments,
        symbols,
        symbol_sizes,
        stub_base,
        stub_count,
        ram_end,
        code_end,
        ram_sections,
    })
}
