//! Test helpers: synthetic modules and compiled code, hand-made ELF identifications, and the
//! LLVM 14 tools (readelf, objdump, lld, clang) run as subprocesses.

use std::path::PathBuf;
use std::process::Command;

use crate::ir::{
    DataSegment, Function, FunctionDecl, FunctionKind, Global, Import, Memory, Module, Signature,
    Symbol, Type,
};
use crate::isa::{CompiledFunction, ElfInfo, FunctionStats, LineKind, ListingLine, Reloc};

pub const R_ARM_ABS32: u32 = 2;
pub const R_ARM_THM_CALL: u32 = 10;
pub const R_ARM_THM_MOVW_ABS_NC: u32 = 47;
pub const R_ARM_THM_MOVT_ABS: u32 = 48;
pub const R_RISCV_CALL_PLT: u32 = 19;
pub const R_RISCV_HI20: u32 = 26;
pub const R_RISCV_LO12_I: u32 = 27;

/// Run an installed tool; a missing tool fails the test with a message saying what to install.
pub fn run_tool(tool: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{tool}` ({e}); install LLVM 14 tools (clang, lld, llvm): ./dev test")
    });
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Run a tool that must succeed without writing anything to stderr; returns stdout.
pub fn run_clean(tool: &str, args: &[&str]) -> String {
    let (ok, stdout, stderr) = run_tool(tool, args);
    assert!(
        ok && stderr.trim().is_empty(),
        "`{tool} {}` failed or warned:\n{stderr}\n{stdout}",
        args.join(" ")
    );
    stdout
}

/// A fresh scratch directory for one test (removed first so stale files cannot pass a test).
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("synth-object-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

pub fn write_file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write scratch file");
    path.to_string_lossy().into_owned()
}

/// Cortex-M4 identification as clang 14 writes it (EABI 5, soft float, v7E-M attributes).
pub fn arm_elf_info() -> ElfInfo {
    let mut attrs = vec![b'A', 0, 0, 0, 0];
    let mut sub = b"aeabi\0".to_vec();
    let mut file_attrs = b"\x05cortex-m4\0".to_vec();
    // Tag_CPU_arch v7E-M, profile 'M', Thumb-2, no ARM ISA.
    file_attrs.extend_from_slice(&[6, 13, 7, b'M', 8, 0, 9, 2]);
    let file_len = (file_attrs.len() + 5) as u32;
    sub.push(1);
    sub.extend_from_slice(&file_len.to_le_bytes());
    sub.extend_from_slice(&file_attrs);
    let total = (sub.len() + 4) as u32;
    attrs[1..5].copy_from_slice(&total.to_le_bytes());
    attrs.extend_from_slice(&sub);
    ElfInfo {
        machine: object::elf::EM_ARM.0,
        flags: object::elf::EF_ARM_EABI_VER5.0,
        attributes: (".ARM.attributes", object::elf::SHT_ARM_ATTRIBUTES.0, attrs),
        thumb: true,
    }
}

/// RV32IMAC identification as clang 14 writes it (RVC, soft-float ABI).
pub fn rv32_elf_info() -> ElfInfo {
    let mut file_attrs = vec![4, 16]; // Tag_RISCV_stack_align = 16
    file_attrs.push(5); // Tag_RISCV_arch
    file_attrs.extend_from_slice(b"rv32i2p0_m2p0_a2p0_c2p0\0");
    let mut sub = b"riscv\0".to_vec();
    sub.push(1);
    sub.extend_from_slice(&((file_attrs.len() + 5) as u32).to_le_bytes());
    sub.extend_from_slice(&file_attrs);
    let mut attrs = vec![b'A'];
    attrs.extend_from_slice(&((sub.len() + 4) as u32).to_le_bytes());
    attrs.extend_from_slice(&sub);
    ElfInfo {
        machine: object::elf::EM_RISCV.0,
        flags: object::elf::EF_RISCV_RVC.0,
        attributes: (
            ".riscv.attributes",
            object::elf::SHT_RISCV_ATTRIBUTES.0,
            attrs,
        ),
        thumb: false,
    }
}

fn empty_body(index: u32, name: &str, sig: Signature) -> Function {
    Function {
        index,
        name: name.to_string(),
        sig,
        blocks: Vec::new(),
        value_types: Vec::new(),
        offset: 0,
    }
}

fn sig(params: &[Type], results: &[Type]) -> Signature {
    Signature {
        params: params.to_vec(),
        results: results.to_vec(),
    }
}

/// Functions: 0 = import `env.ext`, 1 = exported as `run` and `run.alias`, 2 = internal,
/// 3 = `synth_init`. A memory of 1..2 pages, an i32 global, an exported i64 global, one data
/// segment.
pub fn sample_module() -> Module {
    let decl = |sig: Signature, kind, exports: &[&str], name: &str| FunctionDecl {
        sig,
        kind,
        exports: exports.iter().map(|e| e.to_string()).collect(),
        name: name.to_string(),
    };
    let run_sig = sig(&[Type::I32, Type::I64], &[Type::I32]);
    Module {
        functions: vec![
            decl(
                sig(&[Type::I32], &[Type::I32]),
                FunctionKind::Imported(Import {
                    module: "env".into(),
                    name: "ext".into(),
                }),
                &[],
                "env.ext",
            ),
            decl(
                run_sig.clone(),
                FunctionKind::Defined(0),
                &["run", "run.alias"],
                "run",
            ),
            decl(sig(&[], &[]), FunctionKind::Defined(1), &[], "func[2]"),
            decl(
                sig(&[], &[]),
                FunctionKind::Runtime(2),
                &["synth_init"],
                "synth_init",
            ),
        ],
        bodies: vec![
            empty_body(1, "run", run_sig),
            empty_body(2, "func[2]", sig(&[], &[])),
            empty_body(3, "synth_init", sig(&[], &[])),
        ],
        globals: vec![
            Global {
                ty: Type::I32,
                mutable: true,
                init: -5,
                exports: Vec::new(),
                import: None,
            },
            Global {
                ty: Type::I64,
                mutable: true,
                init: 0x1122_3344_5566_7788,
                exports: vec!["counter".into()],
                import: None,
            },
        ],
        memory: Some(Memory {
            initial_pages: 1,
            max_pages: 2,
            exports: vec!["memory".into()],
            import: None,
        }),
        data: vec![DataSegment {
            offset_global: None,
            offset: Some(16),
            bytes: b"hello".to_vec(),
        }],
        start: None,
        tables: Default::default(),
        namespace: None,
    }
}

fn line(offset: u32, bytes: &[u8], text: &str, kind: LineKind) -> ListingLine {
    ListingLine {
        offset,
        bytes: bytes.to_vec(),
        text: text.to_string(),
        wasm_offset: None,
        kind,
        step: None,
    }
}

fn reloc(offset: u32, r_type: u32, symbol: Symbol, addend: i64) -> Reloc {
    Reloc {
        offset,
        r_type,
        symbol,
        addend,
    }
}

fn compiled(code: Vec<u8>, relocs: Vec<Reloc>, listing: Vec<ListingLine>) -> CompiledFunction {
    CompiledFunction {
        code,
        relocs,
        listing,
        stats: FunctionStats::default(),
        allocation: None,
    }
}

/// Thumb-2 bodies for `sample_module` (encodings from llvm-mc, implicit addends as clang
/// writes them: -4 in `bl`, +4 in the literal word).
pub fn arm_functions() -> Vec<CompiledFunction> {
    let code = |l: &[ListingLine]| l.iter().flat_map(|l| l.bytes.clone()).collect::<Vec<_>>();
    let run = vec![
        line(0, &[0x80, 0xb5], "push {r7, lr}", LineKind::Code),
        line(2, &[0xff, 0xf7, 0xfe, 0xff], "bl env_ext", LineKind::Code),
        line(
            6,
            &[0x40, 0xf2, 0, 0],
            "movw r0, :lower16:synth_memory",
            LineKind::Code,
        ),
        line(
            10,
            &[0xc0, 0xf2, 0, 0],
            "movt r0, :upper16:synth_memory",
            LineKind::Code,
        ),
        line(14, &[0x02, 0x48], "ldr r0, [pc, #8]", LineKind::Code),
        line(
            16,
            &[0xff, 0xf7, 0xfe, 0xff],
            "bl __synth_func_2",
            LineKind::Code,
        ),
        line(20, &[0x80, 0xbd], "pop {r7, pc}", LineKind::Code),
        line(22, &[0x00, 0xbf], "nop", LineKind::Code),
        line(
            24,
            &[4, 0, 0, 0],
            ".word synth_memory_bytes+4",
            LineKind::Data,
        ),
    ];
    let internal = vec![
        line(0, &[0x80, 0xb5], "push {r7, lr}", LineKind::Code),
        line(
            2,
            &[0xff, 0xf7, 0xfe, 0xff],
            "bl synth_trap",
            LineKind::Code,
        ),
        line(6, &[0x80, 0xbd], "pop {r7, pc}", LineKind::Code),
    ];
    let init = vec![line(0, &[0x70, 0x47], "bx lr", LineKind::Code)];
    vec![
        compiled(
            code(&run),
            vec![
                reloc(2, R_ARM_THM_CALL, Symbol::Function(0), 0),
                reloc(6, R_ARM_THM_MOVW_ABS_NC, Symbol::Memory, 0),
                reloc(10, R_ARM_THM_MOVT_ABS, Symbol::Memory, 0),
                reloc(16, R_ARM_THM_CALL, Symbol::Function(2), 0),
                reloc(24, R_ARM_ABS32, Symbol::MemoryBytes, 0),
            ],
            run,
        ),
        compiled(
            code(&internal),
            vec![reloc(2, R_ARM_THM_CALL, Symbol::TrapHandler, 0)],
            internal,
        ),
        compiled(code(&init), Vec::new(), init),
    ]
}

/// RV32IMAC bodies for `sample_module` (encodings from llvm-mc).
pub fn rv32_functions() -> Vec<CompiledFunction> {
    let code = |l: &[ListingLine]| l.iter().flat_map(|l| l.bytes.clone()).collect::<Vec<_>>();
    let run = vec![
        line(0, &[0x97, 0, 0, 0], "auipc ra, 0", LineKind::Code),
        line(4, &[0xe7, 0x80, 0, 0], "jalr ra", LineKind::Code),
        line(
            8,
            &[0x37, 0x05, 0, 0],
            "lui a0, %hi(synth_memory+8)",
            LineKind::Code,
        ),
        line(
            12,
            &[0x13, 0x05, 0x05, 0],
            "addi a0, a0, %lo(synth_memory+8)",
            LineKind::Code,
        ),
        line(16, &[0x82, 0x80], "ret", LineKind::Code),
    ];
    let internal = vec![
        line(0, &[0x97, 0, 0, 0], "auipc ra, 0", LineKind::Code),
        line(4, &[0xe7, 0x80, 0, 0], "jalr ra", LineKind::Code),
        line(8, &[0x82, 0x80], "ret", LineKind::Code),
    ];
    let init = vec![line(0, &[0x82, 0x80], "ret", LineKind::Code)];
    vec![
        compiled(
            code(&run),
            vec![
                reloc(0, R_RISCV_CALL_PLT, Symbol::Function(0), 0),
                reloc(8, R_RISCV_HI20, Symbol::Memory, 8),
                reloc(12, R_RISCV_LO12_I, Symbol::Memory, 8),
            ],
            run,
        ),
        compiled(
            code(&internal),
            vec![reloc(0, R_RISCV_CALL_PLT, Symbol::TrapHandler, 0)],
            internal,
        ),
        compiled(code(&init), Vec::new(), init),
    ]
}

/// Linker script placing code at 0x10000, data at 0x20000 and defining the embedder's symbols
/// (`env_ext` and `synth_trap` with the Thumb bit when `thumb`).
pub fn linker_script(thumb: bool) -> String {
    let t = u32::from(thumb);
    format!(
        "ENTRY(run)\nSECTIONS {{\n  . = 0x10000;\n  .text : {{ *(.text .text.*) }}\n  . = 0x20000;\n  \
         .data : {{ *(.data .data.*) *(.rodata .rodata.*) }}\n  .bss : {{ *(.bss .bss.*) }}\n}}\n\
         env_ext = {:#x};\nsynth_trap = {:#x};\n__synth_stack_limit = 0x40000;\n",
        0x30000 + t,
        0x30100 + t
    )
}
