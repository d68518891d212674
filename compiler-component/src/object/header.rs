//! C header for a compiled module: everything docs/ABI.md promises the embedder, spelled in C.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::ir::{FunctionDecl, FunctionKind, Module, Signature, Symbol, TrapCode, Type};
use crate::options::Options;

/// The include guard of a module without a namespace (`Options::module_name`): such a module
/// defines `synth_init`, `synth_memory`, ... so one program links one of them.
const LEGACY_GUARD: &str = "SYNTH_MODULE_H";

/// Guards what every header declares alike (trap codes, the embedder hooks), so the headers of
/// several modules can be included together.
const COMMON_GUARD: &str = "SYNTH_COMMON_DECLS_H";

/// The macro prefix of a module: `SYNTH` without a namespace, the namespace in upper case.
fn macro_prefix(module: &Module) -> String {
    module
        .namespace
        .as_deref()
        .map_or_else(|| "SYNTH".to_string(), str::to_ascii_uppercase)
}

fn include_guard(module: &Module) -> String {
    match &module.namespace {
        Some(_) => format!("{}_SYNTH_H", macro_prefix(module)),
        None => LEGACY_GUARD.to_string(),
    }
}

/// Identifiers a C or C++ compiler rejects as function or variable names (keywords and the
/// `<stdint.h>` types the header uses). Symbols with these names are declared under another C
/// name bound to the real symbol with an asm label.
const RESERVED: &[&str] = &[
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "char16_t",
    "char32_t",
    "char8_t",
    "class",
    "compl",
    "concept",
    "const",
    "const_cast",
    "consteval",
    "constexpr",
    "constinit",
    "continue",
    "co_await",
    "co_return",
    "co_yield",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "int16_t",
    "int32_t",
    "int64_t",
    "int8_t",
    "intptr_t",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "requires",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "uint16_t",
    "uint32_t",
    "uint64_t",
    "uint8_t",
    "uintptr_t",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
];

/// Generate the C header declaring the module's exports, the imports the embedder implements,
/// the embedder hooks, memory, exported globals and trap codes.
pub fn generate(module: &Module, options: &Options) -> String {
    let mut out = String::new();
    let _ = write_header(&mut out, module, options);
    out
}

fn c_type(ty: Type) -> &'static str {
    match ty {
        Type::I32 => "int32_t",
        Type::I64 => "int64_t",
        Type::F32 => "float",
        Type::F64 => "double",
    }
}

fn trap_constant(code: TrapCode) -> &'static str {
    match code {
        TrapCode::Unreachable => "SYNTH_TRAP_UNREACHABLE",
        TrapCode::MemoryOutOfBounds => "SYNTH_TRAP_MEMORY_OUT_OF_BOUNDS",
        TrapCode::IntegerDivideByZero => "SYNTH_TRAP_INTEGER_DIVIDE_BY_ZERO",
        TrapCode::IntegerOverflow => "SYNTH_TRAP_INTEGER_OVERFLOW",
        TrapCode::StackOverflow => "SYNTH_TRAP_STACK_OVERFLOW",
        TrapCode::DataSegmentOutOfBounds => "SYNTH_TRAP_DATA_SEGMENT_OUT_OF_BOUNDS",
        TrapCode::InvalidConversion => "SYNTH_TRAP_INVALID_CONVERSION",
        TrapCode::TableOutOfBounds => "SYNTH_TRAP_TABLE_OUT_OF_BOUNDS",
        TrapCode::UndefinedElement => "SYNTH_TRAP_UNDEFINED_ELEMENT",
        TrapCode::UninitializedElement => "SYNTH_TRAP_UNINITIALIZED_ELEMENT",
        TrapCode::IndirectCallTypeMismatch => "SYNTH_TRAP_INDIRECT_CALL_TYPE_MISMATCH",
        TrapCode::ElemSegmentOutOfBounds => "SYNTH_TRAP_ELEM_SEGMENT_OUT_OF_BOUNDS",
    }
}

/// The C name for `symbol` and, when that differs, the asm label binding it to the symbol.
fn c_name(symbol: &str) -> (String, String) {
    if RESERVED.contains(&symbol) {
        (
            format!("synth_symbol_{symbol}"),
            format!(" __asm__(\"{symbol}\")"),
        )
    } else {
        (symbol.to_string(), String::new())
    }
}

/// Comment-safe text: wasm names are arbitrary UTF-8 and must not end the comment.
fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect::<String>()
        .replace("*/", "*\\/")
}

/// The prototype of a function with the ABI of docs/ABI.md: one result in registers, several
/// through a caller-owned struct passed as the hidden first argument.
fn prototype(symbol: &str, struct_tag: &str, sig: &Signature) -> String {
    let (name, label) = c_name(symbol);
    let mut params: Vec<String> = Vec::new();
    let result = match sig.results.as_slice() {
        [] => "void",
        [one] => c_type(*one),
        _ => {
            params.push(format!("struct {struct_tag} *results"));
            "void"
        }
    };
    for (i, ty) in sig.params.iter().enumerate() {
        params.push(format!("{} p{i}", c_type(*ty)));
    }
    if params.is_empty() {
        params.push("void".to_string());
    }
    format!("{result} {name}({}){label};", params.join(", "))
}

fn results_struct(tag: &str, sig: &Signature) -> Option<String> {
    if sig.results.len() < 2 {
        return None;
    }
    let mut s = format!("struct {tag} {{\n");
    for (i, ty) in sig.results.iter().enumerate() {
        let _ = writeln!(s, "    {} r{i};", c_type(*ty));
    }
    s.push_str("};");
    Some(s)
}

fn describe(decl: &FunctionDecl) -> String {
    match &decl.kind {
        FunctionKind::Imported(import) => {
            comment_text(&format!("import \"{}\" \"{}\"", import.module, import.name))
        }
        _ => comment_text(&format!("export \"{}\"", decl.exports.join("\", \""))),
    }
}

fn write_function(
    out: &mut String,
    module: &Module,
    index: u32,
    decl: &FunctionDecl,
) -> std::fmt::Result {
    let symbol = module.symbol_name(Symbol::Function(index));
    let tag = format!("{symbol}_results");
    writeln!(out, "/* {} */", describe(decl))?;
    if let Some(s) = results_struct(&tag, &decl.sig) {
        // An exporter's and an importer's header both declare the struct: once per program.
        let guard = format!("SYNTH_STRUCT_{tag}");
        writeln!(out, "#ifndef {guard}\n#define {guard}\n{s}\n#endif")?;
    }
    writeln!(out, "{}", prototype(&symbol, &tag, &decl.sig))?;
    // Further export names are aliases of the same code (same struct type).
    for alias in decl.exports.iter().skip(1) {
        let alias = module.function_export_symbol(alias);
        writeln!(out, "{}", prototype(&alias, &tag, &decl.sig))?;
    }
    Ok(())
}

fn write_header(out: &mut String, module: &Module, options: &Options) -> std::fmt::Result {
    writeln!(
        out,
        "/* Generated by synth {} for {}. Do not edit: recompile the module instead. */",
        env!("CARGO_PKG_VERSION"),
        options.target.name()
    )?;
    let guard = include_guard(module);
    let m = macro_prefix(module);
    writeln!(out, "#ifndef {guard}\n#define {guard}\n")?;
    writeln!(out, "#include <stdint.h>\n")?;
    writeln!(out, "#ifdef __cplusplus\nextern \"C\" {{\n#endif\n")?;

    writeln!(out, "#define {m}_TARGET \"{}\"", options.target.name())?;
    writeln!(
        out,
        "#define {m}_BOUNDS_CHECKS {}",
        u32::from(options.bounds_checks)
    )?;
    writeln!(
        out,
        "#define {m}_STACK_CHECK {}\n",
        u32::from(options.stack_check)
    )?;

    writeln!(out, "#ifndef {COMMON_GUARD}\n#define {COMMON_GUARD}")?;
    writeln!(out, "#define SYNTH_PAGE_SIZE 65536u\n")?;
    writeln!(out, "/* Codes passed to synth_trap. */")?;
    writeln!(out, "enum synth_trap_code {{")?;
    for (i, code) in TrapCode::ALL.into_iter().enumerate() {
        // No comma after the last enumerator: C89 and C++98 reject it under -pedantic.
        let comma = if i + 1 < TrapCode::ALL.len() { "," } else { "" };
        writeln!(
            out,
            "    {} = {}{comma} /* {} */",
            trap_constant(code),
            code.code(),
            code.message()
        )?;
    }
    writeln!(out, "}};\n")?;

    writeln!(
        out,
        "/* Provided by the embedder. synth_trap must not return. */"
    )?;
    writeln!(
        out,
        "void synth_trap(uint32_t code) __attribute__((noreturn));"
    )?;
    writeln!(
        out,
        "/* Lowest address the stack pointer may reach (objects with stack checks). */\nextern uintptr_t __synth_stack_limit;"
    )?;
    writeln!(out, "#endif /* {COMMON_GUARD} */\n")?;

    let init = module.owned_symbol("init");
    writeln!(
        out,
        "/* Call once before any export: sets the memory size, copies data segments, runs the start function. */"
    )?;
    writeln!(out, "void {init}(void);\n")?;

    if let Some(memory) = &module.memory {
        let symbol = module.symbol_name(Symbol::Memory);
        let bytes = module.symbol_name(Symbol::MemoryBytes);
        match &memory.import {
            Some(import) => writeln!(
                out,
                "/* Imported linear memory (import \"{}\" \"{}\"): defined by the embedder or the \
                 exporting module, at least {m}_MEMORY_MAX_PAGES pages; its size word is set before {init} runs. */",
                comment_text(&import.module),
                comment_text(&import.name)
            )?,
            None => writeln!(out, "/* Linear memory: wasm address 0 is {symbol}[0]. */")?,
        }
        writeln!(
            out,
            "#define {m}_MEMORY_INITIAL_PAGES {}u",
            memory.initial_pages
        )?;
        writeln!(out, "#define {m}_MEMORY_MAX_PAGES {}u", memory.max_pages)?;
        if memory.max_pages > 0 && memory.import.is_none() {
            writeln!(
                out,
                "extern uint8_t {symbol}[{m}_MEMORY_MAX_PAGES * SYNTH_PAGE_SIZE];"
            )?;
        } else {
            writeln!(out, "extern uint8_t {symbol}[];")?;
        }
        writeln!(
            out,
            "/* Current size in bytes (memory.size * SYNTH_PAGE_SIZE). */"
        )?;
        writeln!(out, "extern uint32_t {bytes};\n")?;
    }

    let imported_globals: Vec<(usize, &crate::ir::Global)> = module
        .globals
        .iter()
        .enumerate()
        .filter(|(_, g)| g.import.is_some())
        .collect();
    if !imported_globals.is_empty() {
        writeln!(
            out,
            "/* Imported globals: the embedder or the exporting module defines these. */"
        )?;
        let mut declared = BTreeSet::new();
        for (n, global) in imported_globals {
            let symbol = module.symbol_name(Symbol::Global(n as u32));
            if !declared.insert(symbol.clone()) {
                continue;
            }
            let (name, label) = c_name(&symbol);
            let constness = if global.mutable { "" } else { "const " };
            let import = global.import.as_ref().map_or_else(String::new, |i| {
                comment_text(&format!("import \"{}\" \"{}\"", i.module, i.name))
            });
            writeln!(
                out,
                "extern {constness}{} {name}{label}; /* {import} */",
                c_type(global.ty),
            )?;
        }
        writeln!(out)?;
    }

    let tables: Vec<(usize, &crate::ir::table::Table)> = module
        .tables
        .tables
        .iter()
        .enumerate()
        .filter(|(_, t)| t.import.is_some() || !t.exports.is_empty())
        .collect();
    if !tables.is_empty() {
        writeln!(
            out,
            "/* Tables: {{uint32_t size; uint32_t entries[MAX_ENTRIES];}}; a funcref entry is 0 or a descriptor address. */"
        )?;
        let mut declared = BTreeSet::new();
        for (n, table) in tables {
            let symbol = module.symbol_name(Symbol::Table(n as u32));
            writeln!(
                out,
                "#define {m}_TABLE_{n}_INITIAL_ENTRIES {}u",
                table.initial
            )?;
            writeln!(out, "#define {m}_TABLE_{n}_MAX_ENTRIES {}u", table.max)?;
            if !declared.insert(symbol.clone()) {
                continue;
            }
            match &table.import {
                Some(i) => writeln!(
                    out,
                    "extern uint32_t {symbol}[]; /* {}: defined by the embedder or the exporting \
                     module, room for 1 + {m}_TABLE_{n}_MAX_ENTRIES words */",
                    comment_text(&format!("import \"{}\" \"{}\"", i.module, i.name))
                )?,
                None => writeln!(
                    out,
                    "extern uint32_t {symbol}[1 + {m}_TABLE_{n}_MAX_ENTRIES]; /* export \"{}\" */",
                    comment_text(&table.exports.join("\", \""))
                )?,
            }
        }
        writeln!(out)?;
    }

    let reexports = module.reexport_aliases();
    if !reexports.is_empty() {
        writeln!(
            out,
            "/* Re-exported imports: the object defines no symbol for these exports. Define each\n   \
             as an alias of the import when linking: a linker-script line (or --defsym=EXPORT=IMPORT). */"
        )?;
        for (export, import) in &reexports {
            writeln!(out, "/* {export} = {import}; */")?;
        }
        writeln!(out)?;
    }

    let exported_globals: Vec<(usize, &crate::ir::Global)> = module
        .globals
        .iter()
        .enumerate()
        .filter(|(_, g)| !g.exports.is_empty() && g.import.is_none())
        .collect();
    if !exported_globals.is_empty() {
        writeln!(out, "/* Exported globals. */")?;
        for (n, global) in exported_globals {
            let symbol = module.symbol_name(Symbol::Global(n as u32));
            let (name, label) = c_name(&symbol);
            let constness = if global.mutable { "" } else { "const " };
            writeln!(
                out,
                "extern {constness}{} {name}{label}; /* export \"{}\" */",
                c_type(global.ty),
                comment_text(&global.exports.join("\", \""))
            )?;
        }
        writeln!(out)?;
    }

    let imports: Vec<(u32, &FunctionDecl)> = module
        .functions
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d.kind, FunctionKind::Imported(_)))
        .map(|(i, d)| (i as u32, d))
        .collect();
    if !imports.is_empty() {
        writeln!(out, "/* Imports: the embedder implements these. */")?;
        // A module may import one name several times; C can declare it only once.
        let mut declared = BTreeSet::new();
        for (index, decl) in imports {
            if declared.insert(module.symbol_name(Symbol::Function(index))) {
                write_function(out, module, index, decl)?;
            }
        }
        writeln!(out)?;
    }

    let exports: Vec<(u32, &FunctionDecl)> = module
        .functions
        .iter()
        .enumerate()
        // Runtime helpers are internal except `synth_init`, declared above.
        .filter(|(_, d)| matches!(d.kind, FunctionKind::Defined(_)) && !d.exports.is_empty())
        .map(|(i, d)| (i as u32, d))
        .collect();
    if !exports.is_empty() {
        writeln!(out, "/* Exports. */")?;
        for (index, decl) in exports {
            write_function(out, module, index, decl)?;
        }
        writeln!(out)?;
    }

    writeln!(out, "#ifdef __cplusplus\n}}\n#endif\n")?;
    writeln!(out, "#endif /* {guard} */")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::generate;
    use crate::ir::{FunctionDecl, FunctionKind, Import, Module, Signature, Type};
    use crate::object::test_support::*;
    use crate::options::{Options, Target};

    const ARM_FLAGS: &[&str] = &["--target=thumbv7em-none-eabi", "-mcpu=cortex-m4"];
    const RV32_FLAGS: &[&str] = &["--target=riscv32", "-march=rv32imac", "-mabi=ilp32"];

    fn decl(
        params: &[Type],
        results: &[Type],
        kind: FunctionKind,
        exports: &[&str],
    ) -> FunctionDecl {
        FunctionDecl {
            sig: Signature {
                params: params.to_vec(),
                results: results.to_vec(),
            },
            kind,
            exports: exports.iter().map(|e| e.to_string()).collect(),
            name: exports.first().copied().unwrap_or("import").to_string(),
        }
    }

    /// `sample_module` plus a multi-result export and import, exports whose names are a C
    /// keyword and need mangling, and an immutable exported global.
    fn rich_module() -> Module {
        let mut module = sample_module();
        module.functions.extend([
            decl(
                &[Type::I64],
                &[Type::I32, Type::I64],
                FunctionKind::Defined(2),
                &["divmod"],
            ),
            decl(
                &[],
                &[Type::I64],
                FunctionKind::Defined(3),
                &["int", "i32.add"],
            ),
            decl(
                &[Type::I32, Type::I32],
                &[Type::I64, Type::I32],
                FunctionKind::Imported(Import {
                    module: "env".into(),
                    name: "pair*/".into(),
                }),
                &[],
            ),
        ]);
        module.globals.push(crate::ir::Global {
            ty: Type::I32,
            mutable: false,
            init: 7,
            exports: vec!["version".into()],
            import: None,
        });
        module
    }

    /// clang 14 must accept the header as C and C++ for the target, with every warning an error.
    fn check_with_clang(header: &str, target_flags: &[&str], test: &str) {
        let dir = scratch_dir(test);
        let path = write_file(&dir, "module.h", header.as_bytes());
        for language in [
            &["-x", "c", "-std=c11"][..],
            &["-x", "c++", "-std=c++17"][..],
        ] {
            let mut args = vec![
                "-fsyntax-only",
                "-ffreestanding",
                "-Werror",
                "-Wall",
                "-Wextra",
            ];
            args.extend_from_slice(target_flags);
            args.extend_from_slice(language);
            args.push(&path);
            run_clean("clang", &args);
        }
    }

    #[test]
    fn header_declares_the_abi() {
        let header = generate(&rich_module(), &Options::new(Target::CortexM4));
        let expect = |needle: &str| assert!(header.contains(needle), "no `{needle}` in\n{header}");
        expect("#ifndef SYNTH_MODULE_H\n#define SYNTH_MODULE_H\n");
        expect("#include <stdint.h>");
        expect("#ifdef __cplusplus\nextern \"C\" {\n#endif");
        expect("#define SYNTH_TARGET \"cortex-m4\"");
        expect("    SYNTH_TRAP_UNREACHABLE = 1, /* unreachable */\n");
        expect("    SYNTH_TRAP_DATA_SEGMENT_OUT_OF_BOUNDS = 6,");
        expect("void synth_trap(uint32_t code) __attribute__((noreturn));");
        expect("extern uintptr_t __synth_stack_limit;");
        expect("void synth_init(void);");
        expect("#define SYNTH_MEMORY_INITIAL_PAGES 1u\n#define SYNTH_MEMORY_MAX_PAGES 2u\n");
        expect("extern uint8_t synth_memory[SYNTH_MEMORY_MAX_PAGES * SYNTH_PAGE_SIZE];");
        expect("extern uint32_t synth_memory_bytes;");
        expect("extern int64_t synth_global_counter; /* export \"counter\" */");
        expect("extern const int32_t synth_global_version;");
        expect("int32_t env_ext(int32_t p0);");
        expect(
            "struct env_pair_x2a_x2f_results {\n    int64_t r0;\n    int32_t r1;\n};\n#endif\n\
             void env_pair_x2a_x2f(struct env_pair_x2a_x2f_results *results, int32_t p0, int32_t p1);",
        );
        expect("/* import \"env\" \"pair*\\/\" */");
        expect(
            "int32_t run(int32_t p0, int64_t p1);\nint32_t run_x2ealias(int32_t p0, int64_t p1);",
        );
        expect(
            "struct divmod_results {\n    int32_t r0;\n    int64_t r1;\n};\n#endif\n\
             void divmod(struct divmod_results *results, int64_t p0);",
        );
        expect("int64_t synth_symbol_int(void) __asm__(\"int\");\nint64_t i32_x2eadd(void);");
        expect("#endif /* SYNTH_MODULE_H */\n");
        // Internal functions and the runtime are not exports.
        assert!(!header.contains("__synth_func_2"), "{header}");
        assert_eq!(header.matches("synth_init").count(), 1, "{header}");
    }

    #[test]
    fn namespaced_headers_of_an_exporter_and_an_importer_compile_together() {
        let compile = |wat: &str, name: &str| {
            let mut options = Options::new(Target::CortexM4);
            options.module_name = Some(name.to_string());
            crate::compile(wat.as_bytes(), &options)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .header
        };
        let lib = compile(
            r#"(module (memory (export "mem") 1 2) (global (export "g") (mut i64) (i64.const 1))
                 (func (export "pair") (result i32 i64) (i32.const 1) (i64.const 2)))"#,
            "lib",
        );
        let app = compile(
            r#"(module (import "lib" "mem" (memory 1 2)) (import "lib" "g" (global (mut i64)))
                 (import "lib" "pair" (func (result i32 i64)))
                 (func (export "run") (result i32) (i32.load (i32.const 0))))"#,
            "app",
        );
        for needle in [
            "#ifndef LIB_SYNTH_H",
            "void lib_init(void);",
            "extern uint8_t lib_mem[LIB_MEMORY_MAX_PAGES * SYNTH_PAGE_SIZE];",
            "extern uint32_t lib_mem_bytes;",
            "extern int64_t lib_g; /* export \"g\" */",
            "void lib_pair(struct lib_pair_results *results);",
        ] {
            assert!(lib.contains(needle), "no `{needle}` in\n{lib}");
        }
        for needle in [
            "#ifndef APP_SYNTH_H",
            "void app_init(void);",
            "extern uint8_t lib_mem[];",
            "extern uint32_t lib_mem_bytes;",
            "extern int64_t lib_g; /* import \"lib\" \"g\" */",
            "int32_t app_run(void);",
        ] {
            assert!(app.contains(needle), "no `{needle}` in\n{app}");
        }
        check_with_clang(&format!("{lib}\n{app}"), ARM_FLAGS, "two-headers");
    }

    #[test]
    fn header_follows_options_and_module_shape() {
        let mut module = rich_module();
        module.memory = None;
        let mut options = Options::new(Target::Rv32imac);
        options.stack_check = false;
        let header = generate(&module, &options);
        assert!(!header.contains("synth_memory"), "{header}");
        assert!(header.contains("#define SYNTH_STACK_CHECK 0"), "{header}");
        assert!(
            header.contains("#define SYNTH_TARGET \"rv32imac\""),
            "{header}"
        );
        check_with_clang(&header, RV32_FLAGS, "header-shape");
    }

    #[test]
    fn clang_accepts_the_headers() {
        for (n, target) in [Target::CortexM4, Target::Rv32imac].into_iter().enumerate() {
            let flags = if n == 0 { ARM_FLAGS } else { RV32_FLAGS };
            let options = Options::new(target);
            check_with_clang(&generate(&sample_module(), &options), flags, "clang-sample");
            check_with_clang(&generate(&rich_module(), &options), flags, "clang-rich");
            let mut bare = sample_module();
            bare.functions.truncate(1);
            bare.globals.clear();
            bare.memory = None;
            check_with_clang(&generate(&bare, &options), flags, "clang-bare");
        }
    }

    /// Headers of real modules (frontend + legalize, as `compile` does) compile with clang.
    #[test]
    fn clang_accepts_headers_of_fixtures() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        for name in [
            "imports",
            "multi_value",
            "many_params",
            "globals",
            "memory_grow",
            "adler32",
        ] {
            let path = fixtures.join(format!("{name}.wat"));
            let input = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            for (target, flags) in [
                (Target::CortexM4, ARM_FLAGS),
                (Target::Rv32imac, RV32_FLAGS),
            ] {
                let options = Options::new(target);
                let wasm = crate::frontend::decode(&input).unwrap();
                let mut module = crate::frontend::translate(&wasm, &options).unwrap();
                crate::softfloat::run(&mut module, crate::isa::caps(target)).unwrap();
                crate::legalize::run(&mut module, crate::isa::caps(target), &options).unwrap();
                let header = generate(&module, &options);
                assert!(header.contains("void synth_init(void);"), "{header}");
                check_with_clang(&header, flags, &format!("fixture-{name}"));
            }
        }
    }

    /// C code written against the header links with the object: the names agree.
    #[test]
    fn c_embedder_links_with_the_object() {
        let embedder = r#"#include "module.h"
uintptr_t __synth_stack_limit;
int32_t env_ext(int32_t p0) { return p0 + 0x1234; }
void synth_trap(uint32_t code) { (void)code; for (;;) {} }
int entry(void) {
    synth_init();
    int64_t sum = run(1, 2) + run_x2ealias(3, 4) + synth_global_counter;
    return (int)sum + synth_memory[0] + (int)synth_memory_bytes + SYNTH_TRAP_STACK_OVERFLOW;
}
"#;
        let module = sample_module();
        for (target, flags, functions, info) in [
            (Target::CortexM4, ARM_FLAGS, arm_functions(), arm_elf_info()),
            (
                Target::Rv32imac,
                RV32_FLAGS,
                rv32_functions(),
                rv32_elf_info(),
            ),
        ] {
            let dir = scratch_dir(&format!("embed-{}", target.name()));
            write_file(
                &dir,
                "module.h",
                generate(&module, &Options::new(target)).as_bytes(),
            );
            let source = write_file(&dir, "main.c", embedder.as_bytes());
            let main_object = dir.join("main.o").to_string_lossy().into_owned();
            let mut args = vec!["-c", "-O1", "-ffreestanding", "-Werror", "-Wall"];
            args.extend_from_slice(flags);
            args.extend_from_slice(&["-o", &main_object, &source]);
            run_clean("clang", &args);
            let object = write_file(
                &dir,
                "module.o",
                &super::super::write_elf_for(&module, &functions, &info).unwrap(),
            );
            let linked = dir.join("linked.elf").to_string_lossy().into_owned();
            run_clean(
                "ld.lld",
                &[
                    "-e",
                    "entry",
                    "--no-undefined",
                    "-o",
                    &linked,
                    &main_object,
                    &object,
                ],
            );
        }
    }
}
