//! Command-line grammar of `synth-host`. Compile flags are `synth compile`'s own: everything
//! that is not a host option goes to `synth_compiler::cli`, so the two tools cannot drift.

use std::path::{Path, PathBuf};
use std::time::Duration;

use synth_compiler::Options;
use synth_compiler::cli::{self, CompileArgs};
use synth_host::{DEFAULT_COMPONENT_PATH, HostConfig, default_concurrency};

pub const USAGE: &str = "\
synth-host: run the synth compiler component (synth.wasm) in a sandbox

Usage:
  synth-host compile INPUT --target TARGET -o OUT.o [synth compile options] [host options]
  synth-host batch DIR|FILE... --target TARGET --out DIR [--jobs N] [compile options]
                   [host options]
  synth-host targets [host options]
  synth-host --help | --version

compile takes every option of `synth compile` (see `synth --help`). batch compiles every .wat
and .wasm file of each DIR (and each FILE) to OUT/NAME.o and OUT/NAME.h (and OUT/NAME.json,
the report, with --report-json), N at a time (default: one per core), with a progress line on
stderr and a per-input summary with times on stdout; it writes the same summary as JSON to
OUT/synth-batch.json. It takes synth's code-generation options (--no-bounds-checks,
--no-stack-check, --max-memory-pages N, -O0, -O); each input's module name is its file name.

Output:
  --json                 print one JSON document on stdout instead of text: for compile the
                         result, for batch the summary (results, errors with kind, message,
                         wasm offset and function, and per-request time, queue time, fuel used
                         and peak guest memory; whether the component came from the cache)

Exit status (a batch exits with the most severe status of its inputs):
  0  success                 3  a limit set here was hit (input size, memory, time, fuel)
  1  the module was rejected 4  a bug in synth (the component trapped or reported an
     (not wasm, invalid,        internal error)
     unsupported)            5  host error (the component does not load, a file cannot be
  2  usage (command line,       read or written, wasmtime failed)
     option values)

Host options (limits apply to each request):
  --component FILE       the compiler component (default target/wasm32-wasip2/release/synth.wasm)
  --cache-dir DIR        where the compiled component is cached (default ~/.cache/synth-host)
  --no-cache             compile the component on every start
  --max-input-bytes N    reject larger inputs before compiling (default 67108864)
  --max-memory-mib N     linear memory a request may use, in MiB (default 1024)
  --timeout-ms N         wall-clock deadline of a request, 0 for none (default 60000)
  --fuel N               instruction budget of a request (default: unmetered)
  --max-concurrent N     requests in the component at once, others wait (default: one per
                         core, or --jobs)
  --no-pooling           allocate instances on demand instead of from a pool
";

pub enum Command {
    Compile(HostConfig, CompileArgs, OutputMode),
    Batch(HostConfig, BatchArgs, OutputMode),
    Targets(HostConfig),
    Help,
    Version,
}

pub struct BatchArgs {
    pub inputs: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub jobs: u32,
    pub options: Options,
    /// Write OUT/NAME.json, the report of each input, too.
    pub report_json: bool,
}

/// How results are shown: text for people, or one JSON document on standard output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputMode {
    pub json: bool,
}

/// The host options that are not part of `HostConfig`.
#[derive(Default)]
struct HostFlags {
    jobs: Option<u32>,
    max_concurrent: Option<u32>,
    json: bool,
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut args = args.into_iter();
    let Some(command) = args.next() else {
        return Err("no command given".into());
    };
    let mut config = HostConfig::new(DEFAULT_COMPONENT_PATH);
    let mut flags = HostFlags::default();
    let rest = take_host_options(args, &mut config, &mut flags)?;
    if flags.jobs.is_some() && command != "batch" {
        return Err("--jobs is a batch option".into());
    }
    // --jobs sets how many requests are in flight unless --max-concurrent caps them.
    if let Some(cap) = flags.max_concurrent.or(flags.jobs) {
        config.max_concurrent_requests = cap;
    }
    let mode = OutputMode { json: flags.json };
    match command.as_str() {
        "compile" => {
            let mut line = vec!["compile".to_string()];
            line.extend(rest);
            match cli::parse_args(line).map_err(|e| e.0)? {
                cli::Command::Compile(compile) => {
                    if mode.json {
                        check_stdout_free_for_json(&compile)?;
                    }
                    Ok(Command::Compile(config, compile, mode))
                }
                _ => Err("compile needs an INPUT".into()),
            }
        }
        "batch" => {
            let batch = parse_batch(rest, flags.jobs.unwrap_or_else(default_concurrency))?;
            Ok(Command::Batch(config, batch, mode))
        }
        "targets" => match rest.first() {
            None => Ok(Command::Targets(config)),
            Some(extra) => Err(format!("unexpected argument `{extra}`")),
        },
        "help" | "--help" | "-h" => Ok(Command::Help),
        "--version" | "-V" | "version" => Ok(Command::Version),
        other => Err(format!("unknown command `{other}`")),
    }
}

/// With `--json`, standard output carries the JSON result and nothing else.
fn check_stdout_free_for_json(compile: &CompileArgs) -> Result<(), String> {
    let to_stdout = [
        (compile.output == "-", "-o -"),
        (compile.header.as_deref() == Some("-"), "--header -"),
        (
            compile.report_json.as_deref() == Some("-"),
            "--report-json -",
        ),
        (compile.report, "--report"),
        (compile.listing, "--listing"),
    ];
    match to_stdout.iter().find(|(clash, _)| *clash) {
        Some((_, flag)) => Err(format!(
            "`{flag}` writes to standard output, which --json uses for its result: \
             write it to a file"
        )),
        None => Ok(()),
    }
}

/// Remove the host options (which the compiler's grammar does not know) and apply them.
fn take_host_options(
    args: impl Iterator<Item = String>,
    config: &mut HostConfig,
    flags: &mut HostFlags,
) -> Result<Vec<String>, String> {
    let mut args = args;
    let mut rest = Vec::new();
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            flag.as_str(),
            "--component"
                | "--cache-dir"
                | "--max-input-bytes"
                | "--max-memory-mib"
                | "--timeout-ms"
                | "--fuel"
                | "--jobs"
                | "--max-concurrent"
        );
        let is_switch = matches!(flag.as_str(), "--no-cache" | "--no-pooling" | "--json");
        if !takes_value && !is_switch {
            rest.push(arg);
            continue;
        }
        if is_switch {
            if inline_value.is_some() {
                return Err(format!("option `{flag}` takes no value"));
            }
            match flag.as_str() {
                "--no-cache" => config.cache_dir = None,
                "--json" => flags.json = true,
                _ => config.pooling_allocator = false,
            }
            continue;
        }
        let value = inline_value
            .or_else(|| args.next())
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |what: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} wants {what}, not `{value}`"))
        };
        match flag.as_str() {
            "--component" => config.component = PathBuf::from(&value),
            "--cache-dir" => config.cache_dir = Some(PathBuf::from(&value)),
            "--max-input-bytes" => {
                config.limits.max_input_bytes = usize::try_from(number("a byte count")?)
                    .map_err(|_| format!("{flag} {value} is too large"))?;
            }
            "--max-memory-mib" => {
                let mib = number("a size in MiB")?;
                // Linear memories are 32-bit: 4 GiB is the most any can use.
                if mib == 0 || mib > 4096 {
                    return Err(format!("{flag} wants 1 to 4096, not `{value}`"));
                }
                config.limits.max_memory_bytes = usize::try_from(mib << 20)
                    .map_err(|_| format!("{flag} {value} is too large"))?;
            }
            "--timeout-ms" => {
                let ms = number("milliseconds")?;
                config.limits.timeout = (ms > 0).then(|| Duration::from_millis(ms));
            }
            "--fuel" => config.limits.fuel = Some(number("a fuel amount")?),
            _ => {
                let count = number("a count")?;
                if count == 0 || count > 1024 {
                    return Err(format!("{flag} wants 1 to 1024, not `{value}`"));
                }
                let count = u32::try_from(count).unwrap_or(1);
                if flag == "--jobs" {
                    flags.jobs = Some(count);
                } else {
                    flags.max_concurrent = Some(count);
                }
            }
        }
    }
    Ok(rest)
}

fn parse_batch(rest: Vec<String>, jobs: u32) -> Result<BatchArgs, String> {
    let mut inputs = Vec::new();
    let mut out_dir = None;
    let mut report_json = false;
    let mut flags = Vec::new();
    let mut rest = rest.into_iter();
    while let Some(arg) = rest.next() {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(flag, _)| flag);
        let has_inline_value = arg.contains('=') && flag.starts_with("--");
        match flag {
            "--out" => {
                let value = match arg.split_once('=') {
                    Some((_, value)) => Some(value.to_string()),
                    None => rest.next(),
                };
                let value = value.ok_or("--out needs a directory")?;
                if out_dir.replace(PathBuf::from(value)).is_some() {
                    return Err("--out given twice".into());
                }
            }
            "--report-json" => {
                if has_inline_value {
                    return Err(
                        "batch's --report-json takes no value: it writes OUT/NAME.json".into(),
                    );
                }
                report_json = true;
            }
            "-o" | "--output" | "--header" | "--report" | "--listing" => {
                return Err(format!(
                    "`{flag}` is not a batch option: batch writes OUT/NAME.o and OUT/NAME.h \
                     for each input under --out DIR"
                ));
            }
            "--target" | "--max-memory-pages" => {
                flags.push(arg.clone());
                if !has_inline_value {
                    flags.extend(rest.next());
                }
            }
            _ if arg.starts_with('-') => flags.push(arg),
            _ => inputs.push(PathBuf::from(arg)),
        }
    }
    if inputs.is_empty() {
        return Err("batch needs at least one DIR or FILE".into());
    }
    let out_dir = out_dir.ok_or("batch needs --out DIR")?;
    // Let the compiler's own grammar read the code-generation flags.
    let mut line: Vec<String> = ["compile", "-", "-o", "batch.o"].map(String::from).to_vec();
    line.extend(flags);
    let options = match cli::parse_args(line).map_err(|e| e.0)? {
        cli::Command::Compile(compile) => compile.options,
        _ => return Err("batch needs --target".into()),
    };
    Ok(BatchArgs {
        inputs,
        out_dir,
        jobs,
        options,
        report_json,
    })
}

/// Expand directories to their `.wat`/`.wasm` files (sorted); pair each input with the stem
/// of its outputs, refusing two inputs that would write the same files.
pub fn batch_inputs(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input)
                .map_err(|e| format!("cannot list `{}`: {e}", input.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.is_file() && is_module_file(path))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("`{}` has no .wat or .wasm files", input.display()));
            }
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    let mut paired: Vec<(PathBuf, String)> = Vec::with_capacity(files.len());
    for file in files {
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("`{}` is not a file name", file.display()))?;
        if let Some((other, _)) = paired.iter().find(|(_, s)| *s == stem) {
            return Err(format!(
                "`{}` and `{}` would both write {stem}.o",
                other.display(),
                file.display()
            ));
        }
        paired.push((file, stem));
    }
    Ok(paired)
}

fn is_module_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("wat" | "wasm")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use synth_compiler::Target;

    fn parse_strs(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn compile_takes_synth_flags_and_host_options() {
        let Ok(Command::Compile(config, compile, mode)) = parse_strs(&[
            "compile",
            "x.wat",
            "--target",
            "rv32imac",
            "--fuel=1000",
            "-o",
            "x.o",
            "--no-bounds-checks",
            "--component",
            "c.wasm",
            "--timeout-ms",
            "0",
            "--max-memory-mib",
            "64",
            "--no-cache",
            "--no-pooling",
            "--max-input-bytes=10",
            "--json",
            "--max-concurrent",
            "7",
        ]) else {
            panic!("expected compile");
        };
        assert!(mode.json);
        assert_eq!(config.max_concurrent_requests, 7);
        assert_eq!(compile.input, "x.wat");
        assert_eq!(compile.output, "x.o");
        assert_eq!(compile.options.target, Target::Rv32imac);
        assert!(!compile.options.bounds_checks);
        assert_eq!(config.component, PathBuf::from("c.wasm"));
        assert_eq!(config.limits.fuel, Some(1000));
        assert_eq!(config.limits.timeout, None);
        assert_eq!(config.limits.max_memory_bytes, 64 << 20);
        assert_eq!(config.limits.max_input_bytes, 10);
        assert!(config.cache_dir.is_none() && !config.pooling_allocator);
    }

    #[test]
    fn batch_collects_inputs_out_dir_jobs_and_options() {
        let Ok(Command::Batch(config, batch, mode)) = parse_strs(&[
            "batch",
            "fixtures",
            "a.wat",
            "--target=cortex-m3",
            "--out",
            "objs",
            "--jobs",
            "3",
            "-O0",
            "--max-memory-pages",
            "2",
            "--report-json",
        ]) else {
            panic!("expected batch");
        };
        assert!(batch.report_json && !mode.json);
        assert_eq!(
            batch.inputs,
            [PathBuf::from("fixtures"), PathBuf::from("a.wat")]
        );
        assert_eq!(batch.out_dir, PathBuf::from("objs"));
        assert_eq!(batch.jobs, 3);
        assert_eq!(config.max_concurrent_requests, 3);
        assert_eq!(batch.options.target, Target::CortexM3);
        assert!(!batch.options.optimize);
        assert_eq!(batch.options.max_memory_pages, Some(2));
        let Ok(Command::Batch(config, batch, _)) = parse_strs(&[
            "batch",
            "d",
            "--target",
            "rv32imafc",
            "--out",
            "o",
            "--max-concurrent=2",
            "--jobs=8",
        ]) else {
            panic!("expected batch");
        };
        assert_eq!(batch.options.target, Target::Rv32imafc);
        assert!(!batch.report_json);
        // Eight workers, at most two requests in the component at once.
        assert_eq!((batch.jobs, config.max_concurrent_requests), (8, 2));
    }

    #[test]
    fn rejects_bad_lines() {
        let err = |args: &[&str]| match parse_strs(args) {
            Err(e) => e,
            Ok(_) => panic!("{args:?} parsed"),
        };
        assert!(err(&["compile", "x.wat", "-o", "x.o"]).contains("--target"));
        assert!(err(&["compile", "x.wat", "--jobs", "2"]).contains("batch option"));
        assert!(err(&["batch", "d", "--target", "rv32imac"]).contains("--out"));
        assert!(err(&["batch", "--target", "rv32imac", "--out", "o"]).contains("DIR or FILE"));
        assert!(
            err(&[
                "batch", "d", "--out", "o", "--target", "rv32imac", "-o", "x.o"
            ])
            .contains("not a batch option")
        );
        assert!(err(&["batch", "d", "--out", "o"]).contains("--target"));
        assert!(err(&["compile", "x", "--fuel", "lots"]).contains("--fuel wants"));
        assert!(err(&["compile", "x", "--max-memory-mib", "0"]).contains("1 to 4096"));
        assert!(err(&["compile", "x", "--no-cache=yes"]).contains("takes no value"));
        assert!(err(&["compile", "x", "--component"]).contains("needs a value"));
        assert!(err(&["frob"]).contains("unknown command"));
        let json_clash = [
            "compile", "x", "--target", "rv32imac", "--json", "-o", "x.o",
        ];
        assert!(err(&[&json_clash[..], &["--header", "-"]].concat()).contains("--json uses"));
        assert!(err(&[&json_clash[..], &["--report"]].concat()).contains("--json uses"));
        assert!(
            err(&[
                "batch",
                "d",
                "--out",
                "o",
                "--target",
                "rv32imac",
                "--report-json=r"
            ])
            .contains("takes no value")
        );
        assert!(err(&["compile", "x", "--max-concurrent", "0"]).contains("1 to 1024"));
    }

    #[test]
    fn batch_inputs_expand_directories_and_refuse_clashes() {
        let dir = std::env::temp_dir().join(format!("synth-host-args-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["b.wat", "a.wasm", "notes.txt"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let paired = batch_inputs(std::slice::from_ref(&dir)).unwrap();
        let stems: Vec<&str> = paired.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(stems, ["a", "b"]);
        let clash = batch_inputs(&[dir.clone(), dir.join("b.wat")]).unwrap_err();
        assert!(clash.contains("would both write b.o"), "{clash}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
