//! Command-line parsing for `synth`, kept in the library (and free of I/O) so the CLI binary and
//! a component wrapper share one grammar.

use crate::options::{Options, Target};

pub const USAGE: &str = "\
synth: WebAssembly to Cortex-M / RV32 ELF object compiler

Usage:
  synth compile INPUT --target TARGET -o OUT.o [options]
  synth targets
  synth --help | --version

INPUT is a .wasm or .wat file, or - for standard input.

Compile options:
  --target TARGET          target to compile for (see `synth targets`)
  -o, --output FILE        the ELF relocatable object to write
  --header FILE            also write a C header declaring the module's ABI
  --report                 print a per-function summary (size, spills, frame) to stdout
  --listing                print the summary and the annotated machine code
  --report-json FILE       write the report (with listings) as JSON (- for stdout)
  --ram-limit SIZE         warn when the module's RAM (.data and .bss, the linear memory
                           included; the stack is not) exceeds SIZE bytes (suffix K or M
                           for KiB or MiB, e.g. 64K)
  --no-bounds-checks       do not check linear-memory accesses (use an MPU/PMP instead)
  --no-stack-check         do not compare sp with __synth_stack_limit in prologues
  --max-memory-pages N     reserve up to N 64 KiB pages of linear memory: a memory without a
                           declared maximum may grow to N pages, a declared maximum is capped
                           at N. Default: what the module declares (its maximum, capped at
                           16 pages, or else its initial size: it cannot grow)
  --module-name NAME       namespace of the module's symbols (NAME_init, NAME_memory, exports as
                           NAME_EXPORT), header guard and types; a C identifier. Default: the
                           input file name without extension, made a C identifier
  --no-module-name         legacy unprefixed names (synth_init, synth_memory, exports by name):
                           one such module per program; the default for standard input
  -O0                      skip the machine-independent optimizations
  -O, -O1, -O2             run them, for speed (the default): small loops of a constant
                           trip count are unrolled, loops versioned for their bounds checks
  -Os                      run them, for size: no loop is unrolled or versioned
  --no-spill-realloc       use the baseline register allocator (home slots for values live
                           across blocks) instead of Belady spilling with slot sharing and
                           forwarding; SYNTH_SPILL_REALLOC=0 (or false/off/no) in the
                           environment does the same; other values than those and
                           1/true/on/yes are an error
  --explain-allocation     add each function's register allocation account to the report:
                           live values and their registers or slots at every listing line,
                           pressure, the stack-slot map, and why each spill, reload, remat
                           and move is there (--listing shows the reasons, --report-json
                           carries all of it)
";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Compile(CompileArgs),
    Targets,
    Help,
    Version,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileArgs {
    /// Input path, `-` for stdin.
    pub input: String,
    pub output: String,
    pub header: Option<String>,
    /// Print the summary table.
    pub report: bool,
    /// Print the listings too (implies the summary).
    pub listing: bool,
    /// Where to write the JSON report, `-` for stdout.
    pub report_json: Option<String>,
    /// Warn when the module needs more RAM than this many bytes.
    pub ram_limit: Option<u64>,
    pub options: Options,
}

/// A malformed command line (exit status 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One line per target: name and description.
pub fn targets_text() -> String {
    targets_table(Target::ALL.iter().map(|t| (t.name(), t.description())))
}

/// `(name, description)` rows as the `targets` command prints them: names padded to one width.
pub fn targets_table<'a>(rows: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> String {
    let width = rows.clone().map(|(name, _)| name.len()).max().unwrap_or(0);
    rows.map(|(name, description)| format!("{name:<width$}  {description}\n"))
        .collect()
}

/// Parse the arguments after the program name.
pub fn parse_args<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into);
    let Some(command) = args.next() else {
        return Err(UsageError("no command given".into()));
    };
    match command.as_str() {
        "compile" => parse_compile(args).map(Command::Compile),
        "targets" => expect_no_more(args, Command::Targets),
        "help" | "--help" | "-h" => expect_no_more(args, Command::Help),
        "--version" | "-V" | "version" => expect_no_more(args, Command::Version),
        other => Err(UsageError(format!("unknown command `{other}`"))),
    }
}

fn expect_no_more(
    mut args: impl Iterator<Item = String>,
    command: Command,
) -> Result<Command, UsageError> {
    match args.next() {
        None => Ok(command),
        Some(extra) => Err(UsageError(format!("unexpected argument `{extra}`"))),
    }
}

fn parse_compile(mut args: impl Iterator<Item = String>) -> Result<CompileArgs, UsageError> {
    let mut input = None;
    let mut output = None;
    let mut header = None;
    let mut target = None;
    let mut report = false;
    let mut listing = false;
    let mut report_json = None;
    let mut ram_limit = None;
    let mut bounds_checks = true;
    let mut stack_check = true;
    let mut max_memory_pages = None;
    let mut optimize = true;
    let mut optimize_for_size = false;
    let mut explain_allocation = false;
    let mut spill_realloc = true;
    let mut module_name: Option<Option<String>> = None;

    while let Some(arg) = args.next() {
        // `--flag=value` is the same as `--flag value`.
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, UsageError> {
            match inline_value.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => Err(UsageError(format!("{name} needs a value"))),
            }
        };
        match flag.as_str() {
            "--target" => target = Some(value("--target")?),
            "-o" | "--output" => set_once(&mut output, value(&flag)?, "-o")?,
            "--header" => set_once(&mut header, value("--header")?, "--header")?,
            "--report-json" => {
                set_once(&mut report_json, value("--report-json")?, "--report-json")?
            }
            "--ram-limit" => {
                let text = value("--ram-limit")?;
                let bytes = parse_size(&text).ok_or_else(|| {
                    UsageError(format!(
                        "--ram-limit wants a size in bytes (or with K or M), not `{text}`"
                    ))
                })?;
                ram_limit = Some(bytes);
            }
            "--module-name" => {
                let name = value("--module-name")?;
                if module_name.is_some() {
                    return Err(UsageError("the module name is given twice".into()));
                }
                module_name = Some(Some(name));
            }
            "--max-memory-pages" => {
                let text = value("--max-memory-pages")?;
                let pages = text
                    .parse::<u32>()
                    .ok()
                    .filter(|pages| *pages <= 65536)
                    .ok_or_else(|| {
                        UsageError(format!(
                            "--max-memory-pages wants a page count from 0 to 65536, not `{text}`"
                        ))
                    })?;
                max_memory_pages = Some(pages);
            }
            _ if inline_value.is_some() => {
                return Err(UsageError(format!("option `{flag}` takes no value")));
            }
            "--report" => report = true,
            "--listing" => listing = true,
            "--no-bounds-checks" => bounds_checks = false,
            "--no-stack-check" => stack_check = false,
            "-O0" => optimize = false,
            "-Os" => (optimize, optimize_for_size) = (true, true),
            "--no-spill-realloc" => spill_realloc = false,
            "--explain-allocation" => explain_allocation = true,
            "--no-module-name" => {
                if module_name.is_some() {
                    return Err(UsageError("the module name is given twice".into()));
                }
                module_name = Some(None);
            }
            "-O" | "-O1" | "-O2" => (optimize, optimize_for_size) = (true, false),
            "-" => set_once(&mut input, arg, "INPUT")?,
            _ if flag.starts_with('-') => {
                return Err(UsageError(format!("unknown option `{flag}`")));
            }
            _ => set_once(&mut input, arg, "INPUT")?,
        }
    }

    let input = input.ok_or_else(|| UsageError("compile needs an INPUT file".into()))?;
    let output = output.ok_or_else(|| UsageError("compile needs -o OUT.o".into()))?;
    if output == "-" {
        return Err(UsageError("-o needs a file: the object is binary".into()));
    }
    let mut paths = vec![&output];
    paths.extend(header.iter());
    paths.extend(report_json.iter().filter(|p| *p != "-"));
    for (i, path) in paths.iter().enumerate() {
        if paths[..i].contains(path) {
            return Err(UsageError(format!("`{path}` is given for two outputs")));
        }
    }
    let target_name = target.ok_or_else(|| {
        UsageError(format!(
            "compile needs --target (one of: {})",
            Target::ALL.map(Target::name).join(", ")
        ))
    })?;
    let target = Target::parse(&target_name).map_err(|e| UsageError(e.message))?;
    let mut options = Options::new(target);
    options.bounds_checks = bounds_checks;
    options.stack_check = stack_check;
    options.max_memory_pages = max_memory_pages;
    options.optimize = optimize;
    options.optimize_for_size = optimize_for_size;
    options.spill_realloc = spill_realloc;
    options.explain_allocation = explain_allocation;
    options.module_name = module_name.unwrap_or_else(|| default_module_name(&input));
    options
        .check_module_name()
        .map_err(|e| UsageError(format!("--module-name: {}", e.message)))?;
    Ok(CompileArgs {
        input,
        output,
        header,
        report,
        listing,
        report_json,
        ram_limit,
        options,
    })
}

/// `4096`, `64K`/`64KiB`, `1M`/`1MiB`.
fn parse_size(text: &str) -> Option<u64> {
    let (digits, scale) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => {
            let scale = match &text[at..] {
                "K" | "k" | "KiB" => 1 << 10,
                "M" | "MiB" => 1 << 20,
                _ => return None,
            };
            (&text[..at], scale)
        }
        None => (text, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(scale)
}

/// The namespace a file gets without `--module-name`: its name without directory and
/// extension, made a C identifier (`fixtures/crc-32.wat` -> `crc_32`); none for stdin.
pub fn default_module_name(input: &str) -> Option<String> {
    if input == "-" {
        return None;
    }
    let file = input.rsplit(['/', '\\']).next().unwrap_or(input);
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    Some(crate::ir::names::sanitize_namespace(stem))
}

/// The environment variable that can turn the shipping register allocator off.
pub const SPILL_REALLOC_VARIABLE: &str = "SYNTH_SPILL_REALLOC";

/// Applies `SYNTH_SPILL_REALLOC`: `0`, `false`, `off` or `no` turn spill-realloc off; `1`,
/// `true`, `on` or `yes` leave the options as the command line set them (on unless
/// `--no-spill-realloc`); anything else is an error rather than silently ignored.
pub fn apply_spill_realloc_variable(options: &mut Options, value: &str) -> Result<(), String> {
    match parse_switch(value) {
        Some(false) => {
            options.spill_realloc = false;
            Ok(())
        }
        Some(true) => Ok(()),
        None => Err("expected 0/1, false/true, off/on or no/yes".to_string()),
    }
}

/// An on/off setting as people write it: `1`, `true`, `on`, `yes` or `0`, `false`, `off`, `no`
/// (any case, surrounding blanks ignored); `None` for anything else.
pub fn parse_switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

fn set_once(slot: &mut Option<String>, value: String, what: &str) -> Result<(), UsageError> {
    if slot.is_some() {
        return Err(UsageError(format!("{what} given twice")));
    }
    *slot = Some(value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_args(args: &[&str]) -> Result<CompileArgs, UsageError> {
        let mut all = vec!["compile"];
        all.extend_from_slice(args);
        match parse_args(all)? {
            Command::Compile(c) => Ok(c),
            other => panic!("expected compile, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_full_compile_line() {
        let c = compile_args(&[
            "in.wat",
            "--target",
            "rv32imac",
            "-o",
            "out.o",
            "--header=out.h",
            "--report",
            "--listing",
            "--report-json",
            "r.json",
            "--no-bounds-checks",
            "--no-stack-check",
            "--max-memory-pages",
            "4",
            "-O0",
            "--ram-limit=64K",
        ])
        .unwrap();
        assert_eq!(c.ram_limit, Some(65536));
        assert_eq!(c.input, "in.wat");
        assert_eq!(c.output, "out.o");
        assert_eq!(c.header.as_deref(), Some("out.h"));
        assert!(c.report && c.listing);
        assert_eq!(c.report_json.as_deref(), Some("r.json"));
        assert_eq!(c.options.target, Target::Rv32imac);
        assert!(!c.options.bounds_checks && !c.options.stack_check && !c.options.optimize);
        assert_eq!(c.options.max_memory_pages, Some(4));
    }

    #[test]
    fn optimization_levels_last_one_wins() {
        let level = |flags: &[&str]| {
            let mut args = vec!["in.wat", "--target=cortex-m4", "-o", "x.o"];
            args.extend(flags);
            let o = compile_args(&args).unwrap().options;
            (o.optimize, o.optimize_for_size)
        };
        assert_eq!(level(&[]), (true, false));
        assert_eq!(level(&["-Os"]), (true, true));
        assert_eq!(level(&["-Os", "-O2"]), (true, false));
        assert_eq!(level(&["-O0", "-Os"]), (true, true));
        assert!(!level(&["-Os", "-O0"]).0);
        assert_eq!(level(&["-O1"]), (true, false));
    }

    #[test]
    fn defaults_and_stdin() {
        let c = compile_args(&["-", "--target=cortex-m3", "--output", "x.o"]).unwrap();
        assert_eq!(c.input, "-");
        assert_eq!(c.options, Options::new(Target::CortexM3));
        assert!(!c.report && !c.listing && c.header.is_none() && c.report_json.is_none());
    }

    #[test]
    fn sizes_take_k_and_m_suffixes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("20K"), Some(20 << 10));
        assert_eq!(parse_size("20KiB"), Some(20 << 10));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        for bad in ["", "K", "1.5K", "1G", "-1", "99999999999999999999M"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        let err = compile_args(&[
            "a.wat",
            "--target",
            "rv32imac",
            "-o",
            "x.o",
            "--ram-limit",
            "lots",
        ])
        .unwrap_err()
        .0;
        assert!(err.contains("--ram-limit wants"), "{err}");
    }

    #[test]
    fn rejects_malformed_lines() {
        let err = |args: &[&str]| compile_args(args).unwrap_err().0;
        assert!(err(&["a.wat", "-o", "x.o"]).contains("--target"));
        assert!(err(&["a.wat", "--target", "m4", "-o", "x.o"]).contains("unknown target `m4`"));
        assert!(err(&["--target", "rv32imac", "-o", "x.o"]).contains("INPUT"));
        assert!(err(&["a.wat", "--target", "rv32imac"]).contains("-o"));
        assert!(err(&["a.wat", "b.wat"]).contains("INPUT given twice"));
        assert!(err(&["a.wat", "--frobnicate"]).contains("unknown option `--frobnicate`"));
        assert!(err(&["a.wat", "--report=yes"]).contains("takes no value"));
        assert!(err(&["a.wat", "-o"]).contains("needs a value"));
        assert!(err(&["a.wat", "--max-memory-pages", "65537"]).contains("65537"));
        assert!(err(&["a.wat", "--max-memory-pages", "-1"]).contains("page count"));
        assert!(err(&["a.wat", "-o", "x.o", "--header", "x.o"]).contains("two outputs"));
        assert!(err(&["a.wat", "-o", "-"]).contains("binary"));
        assert_eq!(
            parse_args(Vec::<String>::new()).unwrap_err().0,
            "no command given"
        );
        assert!(
            parse_args(["build"])
                .unwrap_err()
                .0
                .contains("unknown command")
        );
        assert!(
            parse_args(["targets", "x"])
                .unwrap_err()
                .0
                .contains("unexpected")
        );
    }

    #[test]
    fn spill_realloc_flag_and_variable() {
        let on = compile_args(&["in.wat", "--target", "cortex-m4", "-o", "o.o"]).unwrap();
        assert!(on.options.spill_realloc);
        let off = compile_args(&[
            "in.wat",
            "--target",
            "cortex-m4",
            "-o",
            "o.o",
            "--no-spill-realloc",
        ])
        .unwrap();
        assert!(!off.options.spill_realloc);
        let mut options = on.options.clone();
        for on in ["1", "true", "ON", " yes "] {
            apply_spill_realloc_variable(&mut options, on).unwrap();
            assert!(options.spill_realloc, "{on} keeps it on");
        }
        for off in ["0", "False", "off", "no"] {
            let mut options = on.options.clone();
            apply_spill_realloc_variable(&mut options, off).unwrap();
            assert!(!options.spill_realloc, "{off} turns it off");
        }
        for bad in ["", "2", "disable", "nope"] {
            let err = apply_spill_realloc_variable(&mut options, bad).unwrap_err();
            assert!(err.contains("off/on"), "{bad}: {err}");
        }
        apply_spill_realloc_variable(&mut options, "0").unwrap();
        assert!(!options.spill_realloc);
        let mut options = off.options.clone();
        apply_spill_realloc_variable(&mut options, "yes").unwrap();
        assert!(
            !options.spill_realloc,
            "the variable never overrides the flag's off"
        );
    }

    #[test]
    fn module_name_defaults_to_the_file_name() {
        let parsed = |args: &[&str]| match parse_args(
            ["compile", "--target", "rv32imac", "-o", "x.o"]
                .into_iter()
                .chain(args.iter().copied())
                .map(String::from),
        ) {
            Ok(Command::Compile(c)) => c.options.module_name,
            other => panic!("{other:?}"),
        };
        assert_eq!(parsed(&["dir/crc-32.wat"]), Some("crc_32".into()));
        assert_eq!(parsed(&["9lives.wasm"]), Some("_9lives".into()));
        assert_eq!(parsed(&["-"]), None);
        assert_eq!(
            parsed(&["a.wat", "--module-name", "app"]),
            Some("app".into())
        );
        assert_eq!(parsed(&["a.wat", "--no-module-name"]), None);
        let err = |args: &[&str]| {
            parse_args(
                ["compile", "--target", "rv32imac", "-o", "x.o"]
                    .into_iter()
                    .chain(args.iter().copied())
                    .map(String::from),
            )
            .unwrap_err()
            .0
        };
        assert!(err(&["a.wat", "--module-name", "a-b"]).contains("not a C identifier"));
        assert!(err(&["a.wat", "--module-name", "a", "--no-module-name"]).contains("twice"));
    }

    #[test]
    fn other_commands() {
        assert_eq!(parse_args(["targets"]).unwrap(), Command::Targets);
        assert_eq!(parse_args(["--help"]).unwrap(), Command::Help);
        assert_eq!(parse_args(["--version"]).unwrap(), Command::Version);
        let text = targets_text();
        assert_eq!(text.lines().count(), Target::ALL.len());
        assert!(text.contains("rv32imac     RV32IMAC"), "{text}");
        assert!(text.contains("rv32imafc    RV32IMAFC"), "{text}");
    }
}
