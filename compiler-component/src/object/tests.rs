//! Object writer tests: synthetic code through `write_elf_for`, checked with llvm-readelf,
//! llvm-objdump and ld.lld (the link resolves every relocation, so wrong addends show up as
//! wrong addresses).

use super::test_support::*;
use super::write_elf_for;
use crate::error::ErrorKind;
use crate::ir::{FunctionDecl, FunctionKind, Import, Signature, Symbol};
use crate::isa::{ElfInfo, Reloc};

/// One row of `llvm-readelf -s`.
#[derive(Debug, PartialEq, Eq)]
struct SymbolRow {
    value: u64,
    size: u64,
    kind: String,
    bind: String,
    section: String,
    name: String,
}

fn symbol_rows(readelf: &str) -> Vec<SymbolRow> {
    readelf
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // "Num: Value Size Type Bind Vis Ndx Name"
            if fields.len() != 8 || !fields[0].ends_with(':') || fields[0] == "Num:" {
                return None;
            }
            Some(SymbolRow {
                value: u64::from_str_radix(fields[1], 16).ok()?,
                size: fields[2].parse().ok()?,
                kind: fields[3].to_string(),
                bind: fields[4].to_string(),
                section: fields[6].to_string(),
                name: fields[7].to_string(),
            })
        })
        .collect()
}

fn find<'a>(rows: &'a [SymbolRow], name: &str) -> &'a SymbolRow {
    rows.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no symbol `{name}` in {rows:#?}"))
}

/// Section name -> (type, size, alignment) from `llvm-readelf -S`.
fn section_line<'a>(readelf: &'a str, name: &str) -> &'a str {
    readelf
        .lines()
        .find(|l| l.split_whitespace().any(|f| f == name))
        .unwrap_or_else(|| panic!("no section `{name}` in\n{readelf}"))
}

/// Write `bytes` and return (path, full `llvm-readelf -a` output), failing on any warning.
fn readelf_clean(dir: &std::path::Path, name: &str, bytes: &[u8]) -> (String, String) {
    let path = write_file(dir, name, bytes);
    let out = run_clean("llvm-readelf", &["-a", "--wide", &path]);
    (path, out)
}

/// `llvm-objdump -d` without raw bytes, every run of blanks made one space.
fn disassemble_normalized(path: &str) -> String {
    run_clean("llvm-objdump", &["-d", "--no-show-raw-insn", path])
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn link(dir: &std::path::Path, objects: &[&str], thumb: bool) -> String {
    let script = write_file(dir, "link.ld", linker_script(thumb).as_bytes());
    let output = dir.join("linked.elf").to_string_lossy().into_owned();
    let mut args = vec!["-T", script.as_str(), "-o", output.as_str()];
    args.extend_from_slice(objects);
    run_clean("ld.lld", &args);
    output
}

#[test]
fn arm_object_has_the_abi_layout() {
    let dir = scratch_dir("arm-layout");
    let elf = write_elf_for(&sample_module(), &arm_functions(), &arm_elf_info()).unwrap();
    let (path, out) = readelf_clean(&dir, "a.o", &elf);

    assert!(
        out.contains("Type:                              REL (Relocatable file)"),
        "{out}"
    );
    assert!(
        out.contains("Machine:                           ARM"),
        "{out}"
    );
    assert!(
        out.contains("Flags:                             0x5000000"),
        "{out}"
    );
    let attributes = run_clean("llvm-readelf", &["-A", &path]);
    assert!(
        attributes.contains("TagName: CPU_arch_profile"),
        "attributes not parsed:\n{attributes}"
    );

    let text = section_line(&out, ".text.run");
    assert!(
        text.contains("PROGBITS") && text.contains(" AX ") && text.ends_with(" 4"),
        "{text}"
    );
    assert!(section_line(&out, ".text.__synth_func_2").ends_with(" 4"));
    let memory = section_line(&out, ".bss.synth_memory");
    assert!(memory.contains("NOBITS") && memory.contains(" 020000 ") && memory.ends_with(" 8"));
    assert!(section_line(&out, ".data.synth_memory_bytes").contains(" WA "));
    assert!(section_line(&out, ".data.synth_globals").ends_with(" 8"));
    assert!(section_line(&out, ".rodata.synth_data").contains(" A "));
    assert!(section_line(&out, ".ARM.attributes").contains("ARM_ATTRIBUTES"));
    assert!(!out.contains(".comment"), "{out}");

    let rows = symbol_rows(&out);
    let func = |name: &str, value, size, bind: &str| {
        let row = find(&rows, name);
        assert_eq!(
            (row.value, row.size, row.kind.as_str(), row.bind.as_str()),
            (value, size, "FUNC", bind),
            "{name}"
        );
    };
    // Thumb bit set in every function symbol, sizes are code sizes.
    func("run", 1, 28, "GLOBAL");
    func("run_x2ealias", 1, 28, "GLOBAL");
    func("__synth_func_2", 1, 8, "LOCAL");
    func("synth_init", 1, 2, "GLOBAL");
    let mapping: Vec<(u64, &str, &str)> = rows
        .iter()
        .filter(|r| r.name.starts_with('$'))
        .map(|r| (r.value, r.name.as_str(), r.kind.as_str()))
        .collect();
    assert_eq!(
        mapping,
        [
            (0, "$t", "NOTYPE"),
            (24, "$d", "NOTYPE"),
            (0, "$t", "NOTYPE"),
            (0, "$t", "NOTYPE")
        ]
    );
    let data = |name: &str, value, size, bind: &str| {
        let row = find(&rows, name);
        assert_eq!(
            (row.value, row.size, row.kind.as_str(), row.bind.as_str()),
            (value, size, "OBJECT", bind),
            "{name}"
        );
    };
    data("synth_memory", 0, 131072, "GLOBAL");
    data("synth_memory_bytes", 0, 4, "GLOBAL");
    data("synth_global_0", 0, 4, "LOCAL");
    data("synth_global_counter", 8, 8, "GLOBAL");
    data("__synth_data_0", 0, 5, "LOCAL");
    for name in ["env_ext", "synth_trap"] {
        let row = find(&rows, name);
        assert_eq!((row.section.as_str(), row.bind.as_str()), ("UND", "GLOBAL"));
    }
    // Not referenced by any relocation, so not in the object.
    assert!(rows.iter().all(|r| r.name != "__synth_stack_limit"));

    for (offset, r_type, symbol) in [
        ("00000002", "R_ARM_THM_CALL", "env_ext"),
        ("00000006", "R_ARM_THM_MOVW_ABS_NC", "synth_memory"),
        ("0000000a", "R_ARM_THM_MOVT_ABS", "synth_memory"),
        ("00000010", "R_ARM_THM_CALL", "__synth_func_2"),
        ("00000018", "R_ARM_ABS32", "synth_memory_bytes"),
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(offset)
                && l.contains(&format!(" {r_type} "))
                && l.ends_with(&format!(" {symbol}"))),
            "missing {r_type} at {offset} against {symbol}:\n{out}"
        );
    }
    assert!(
        out.contains("Relocation section '.rel.text.run'"),
        "ARM uses REL: {out}"
    );

    // The implicit addends (-4 in `bl`, +4 in the pool word) survive unchanged.
    let dump = run_clean("llvm-objdump", &["-d", &path]);
    assert!(dump.contains("ff f7 fe ff"), "{dump}");
    assert!(dump.contains(".word\t0x00000004"), "{dump}");
    assert!(!dump.contains("<unknown>"), "{dump}");
    // Globals: -5 and 0x1122334455667788, little-endian.
    let data_dump = run_clean("llvm-objdump", &["-s", "-j", ".data.synth_globals", &path]);
    assert!(
        data_dump.contains("fbffffff 00000000 88776655 44332211"),
        "{data_dump}"
    );
}

#[test]
fn arm_object_links_and_relocations_resolve() {
    let dir = scratch_dir("arm-link");
    let elf = write_elf_for(&sample_module(), &arm_functions(), &arm_elf_info()).unwrap();
    let object = write_file(&dir, "a.o", &elf);
    let linked = link(&dir, &[&object], true);
    let rows = symbol_rows(&run_clean("llvm-readelf", &["-s", &linked]));
    let memory = find(&rows, "synth_memory").value;
    let memory_bytes = find(&rows, "synth_memory_bytes").value;
    let run = find(&rows, "run").value & !1;
    let internal = find(&rows, "__synth_func_2").value & !1;
    let dump = disassemble_normalized(&linked);
    let expect = |needle: String| assert!(dump.contains(&needle), "no `{needle}` in\n{dump}");
    expect(format!("{:x}: bl 0x30000 ", run + 2));
    expect(format!("{:x}: movw r0, #{}", run + 6, memory & 0xffff));
    expect(format!("{:x}: movt r0, #{}", run + 10, memory >> 16));
    expect(format!(
        "{:x}: bl {:#x} <__synth_func_2>",
        run + 16,
        internal
    ));
    expect(format!(".word {:#010x}", memory_bytes + 4));
    expect(format!("{:x}: bl 0x30100 ", internal + 2));
}

#[test]
fn rv32_object_has_the_abi_layout_and_links() {
    let dir = scratch_dir("rv32");
    let elf = write_elf_for(&sample_module(), &rv32_functions(), &rv32_elf_info()).unwrap();
    let (path, out) = readelf_clean(&dir, "r.o", &elf);
    assert!(
        out.contains("Machine:                           RISC-V"),
        "{out}"
    );
    assert!(
        out.contains("Flags:                             0x1, RVC"),
        "{out}"
    );
    assert!(section_line(&out, ".riscv.attributes").contains("RISCV_ATTRIBUTES"));
    assert!(section_line(&out, ".text.run").ends_with(" 2"));
    let rows = symbol_rows(&out);
    assert!(
        rows.iter().all(|r| !r.name.starts_with('$')),
        "no mapping symbols on RV32"
    );
    let run = find(&rows, "run");
    assert_eq!((run.value, run.size, run.kind.as_str()), (0, 18, "FUNC"));
    assert!(out.contains("Relocation section '.rela.text.run'"), "{out}");
    for (offset, r_type, target) in [
        ("00000000", "R_RISCV_CALL_PLT", "env_ext + 0"),
        ("00000008", "R_RISCV_HI20", "synth_memory + 8"),
        ("0000000c", "R_RISCV_LO12_I", "synth_memory + 8"),
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(offset)
                && l.contains(&format!(" {r_type} "))
                && l.ends_with(&format!(" {target}"))),
            "missing {r_type} at {offset} against {target}:\n{out}"
        );
    }
    run_clean("llvm-objdump", &["-d", &path]);

    let linked = link(&dir, &[&path], false);
    let rows = symbol_rows(&run_clean("llvm-readelf", &["-s", &linked]));
    let address = find(&rows, "synth_memory").value + 8;
    let run = find(&rows, "run").value;
    let hi = (address + 0x800) >> 12;
    let lo = (address as i64 & 0xfff) - if address & 0x800 != 0 { 0x1000 } else { 0 };
    let dump = disassemble_normalized(&linked);
    let expect = |needle: String| assert!(dump.contains(&needle), "no `{needle}` in\n{dump}");
    expect(format!("{:x}: lui a0, {hi}", run + 8));
    expect(format!("{:x}: addi a0, a0, {lo}", run + 12));
    // auipc ra, hi(env_ext - pc); env_ext is at 0x30000.
    expect(format!(
        "{:x}: auipc ra, {}",
        run,
        (0x30000 - run + 0x800) >> 12
    ));
}

#[test]
fn output_is_deterministic_and_has_no_paths() {
    let module = sample_module();
    let first = write_elf_for(&module, &arm_functions(), &arm_elf_info()).unwrap();
    let second = write_elf_for(&module, &arm_functions(), &arm_elf_info()).unwrap();
    assert_eq!(first, second);
    let text = String::from_utf8_lossy(&first);
    for forbidden in [".comment", "/tmp", "/work", ".rs"] {
        assert!(!text.contains(forbidden), "object contains `{forbidden}`");
    }
}

#[test]
fn imports_named_twice_share_one_undefined_symbol() {
    let dir = scratch_dir("dup-import");
    let mut module = sample_module();
    let duplicate = module.functions[0].clone();
    // Function 4 imports env.ext again (a module may import one name twice).
    module.functions.push(duplicate);
    let mut functions = arm_functions();
    functions[1].relocs[0].symbol = Symbol::Function(4);
    let elf = write_elf_for(&module, &functions, &arm_elf_info()).unwrap();
    let (_, out) = readelf_clean(&dir, "d.o", &elf);
    let count = symbol_rows(&out)
        .iter()
        .filter(|r| r.name == "env_ext")
        .count();
    assert_eq!(count, 1, "{out}");
}

fn error_of(
    module: &crate::ir::Module,
    functions: &[crate::isa::CompiledFunction],
    elf: &ElfInfo,
) -> crate::CompileError {
    write_elf_for(module, functions, elf).expect_err("expected an error")
}

#[test]
fn inconsistent_input_is_an_error_not_a_panic() {
    let module = sample_module();
    let arm = arm_elf_info();

    let err = error_of(&module, &arm_functions()[..2], &arm);
    assert_eq!(err.kind, ErrorKind::Internal);

    let mut functions = arm_functions();
    functions[0].relocs[0].addend = 8;
    let err = error_of(&module, &functions, &arm);
    assert!(err.message.contains("explicit addend"), "{err}");
    assert_eq!(err.function.as_deref(), Some("run"));

    let mut functions = arm_functions();
    functions[2].relocs.push(Reloc {
        offset: 1,
        r_type: R_ARM_ABS32,
        symbol: Symbol::MemoryBytes,
        addend: 0,
    });
    let err = error_of(&module, &functions, &arm);
    assert!(err.message.contains("outside the code"), "{err}");
    assert_eq!(err.function.as_deref(), Some("synth_init"));

    // An 8-byte call pair that starts 4 bytes before the end of the code.
    let mut functions = rv32_functions();
    functions[1].relocs[0].offset = 4;
    let err = error_of(&module, &functions, &rv32_elf_info());
    assert!(err.message.contains("outside the code"), "{err}");

    let mut no_memory = module.clone();
    no_memory.memory = None;
    let err = error_of(&no_memory, &arm_functions(), &arm);
    assert!(err.message.contains("does not define"), "{err}");

    let mut functions = arm_functions();
    functions[0].relocs[0].symbol = Symbol::Function(99);
    let err = error_of(&module, &functions, &arm);
    assert_eq!(err.kind, ErrorKind::Internal, "{err}");

    let placeholder = ElfInfo {
        machine: 0,
        ..arm_elf_info()
    };
    let err = error_of(&module, &arm_functions(), &placeholder);
    assert!(err.message.contains("ELF machine 0"), "{err}");

    let mut huge = module.clone();
    if let Some(memory) = huge.memory.as_mut() {
        memory.max_pages = 65536;
    }
    assert_eq!(
        error_of(&huge, &arm_functions(), &arm).kind,
        ErrorKind::Limit
    );
}

#[test]
fn symbol_name_collisions_are_reported() {
    let arm = arm_elf_info();
    // An export spelled like the mangled import it calls.
    let mut module = sample_module();
    module.functions[2].exports = vec!["env_ext".into()];
    let err = error_of(&module, &arm_functions(), &arm);
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(err.message.contains("`env_ext`"), "{err}");

    // An export spelled like the symbol of an internal function (mangling itself is
    // injective, so two different export names can never meet).
    let mut module = sample_module();
    module.functions[1].exports.push("__synth_func_2".into());
    let err = error_of(&module, &arm_functions(), &arm);
    assert!(err.message.contains("`__synth_func_2`"), "{err}");

    // An export named like an embedder hook that the code references.
    let mut module = sample_module();
    module.functions.push(FunctionDecl {
        sig: Signature::default(),
        kind: FunctionKind::Imported(Import {
            module: "synth".into(),
            name: "trap".into(),
        }),
        exports: Vec::new(),
        name: "synth.trap".into(),
    });
    let mut functions = arm_functions();
    functions[0].relocs[0].symbol = Symbol::Function(4);
    let err = error_of(&module, &functions, &arm);
    assert!(err.message.contains("`synth_trap`"), "{err}");
}

#[test]
fn mapping_symbols_bracket_data_in_the_middle_and_at_the_start() {
    use crate::isa::{LineKind, ListingLine};
    let dir = scratch_dir("mapping");
    let line = |offset: u32, bytes: &[u8], kind| ListingLine {
        offset,
        bytes: bytes.to_vec(),
        text: String::new(),
        wasm_offset: None,
        kind,
        step: None,
    };
    let mut functions = arm_functions();
    // synth_init: a jump-table-like word between two instructions.
    functions[2].code = vec![0x00, 0xbf, 0, 0, 0, 0, 0x70, 0x47];
    functions[2].listing = vec![
        line(0, &[0x00, 0xbf], LineKind::Code),
        line(2, &[0, 0, 0, 0], LineKind::Data),
        line(6, &[0x70, 0x47], LineKind::Code),
    ];
    // __synth_func_2: data first, then code.
    let internal = &mut functions[1];
    internal.listing[0].kind = LineKind::Data;
    let elf = write_elf_for(&sample_module(), &functions, &arm_elf_info()).unwrap();
    let (_, out) = readelf_clean(&dir, "m.o", &elf);
    let rows = symbol_rows(&out);
    let mapping = |section: &str| -> Vec<(u64, String)> {
        let index = find(&rows, section).section.clone();
        rows.iter()
            .filter(|r| r.section == index && r.name.starts_with('$'))
            .map(|r| (r.value, r.name.clone()))
            .collect()
    };
    assert_eq!(
        mapping("synth_init"),
        [(0, "$t".into()), (2, "$d".into()), (6, "$t".into())]
    );
    assert_eq!(
        mapping("__synth_func_2"),
        [(0, "$d".into()), (2, "$t".into())]
    );
}
