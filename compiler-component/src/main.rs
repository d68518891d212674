//! The `synth` command-line tool: argument parsing lives in `synth_compiler::cli`, compilation
//! in the library; this file only does the I/O.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use synth_compiler::Options;
use synth_compiler::cli::{self, Command, CompileArgs};

// In synth.wasm the same `main` is `wasi:cli/run`; this adds the typed `compile` export.
#[cfg(target_arch = "wasm32")]
mod component;

/// Options the environment sets rather than a flag: (variable, how its value sets the options).
/// Every environment read of the CLI goes through `apply_environment`, so a new `SYNTH_*`
/// variable is one line here; under `wasmtime run` they arrive with `--env NAME=VALUE`.
type EnvironmentSetter = fn(&mut Options, &str) -> Result<(), String>;
const ENVIRONMENT_OPTIONS: &[(&str, EnvironmentSetter)] = &[(
    cli::SPILL_REALLOC_VARIABLE,
    cli::apply_spill_realloc_variable,
)];

fn apply_environment(options: &mut Options) -> Result<(), String> {
    for (name, set) in ENVIRONMENT_OPTIONS {
        if let Some(value) = std::env::var_os(name) {
            let value = value
                .into_string()
                .map_err(|_| format!("{name} is not valid UTF-8"))?;
            set(options, &value).map_err(|e| format!("{name}={value}: {e}"))?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let command = match cli::parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("synth: error: {e}\n(run `synth --help` for usage)");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => print(cli::USAGE),
        Command::Version => print(&format!("synth {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Targets => print(&cli::targets_text()),
        Command::Compile(args) => compile(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("synth: error: {message}");
            ExitCode::from(1)
        }
    }
}

fn print(text: &str) -> Result<(), String> {
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write to standard output: {e}"))
}

fn read_input(input: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    if input == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        bytes = std::fs::read(input).map_err(|e| format!("cannot read `{input}`: {e}"))?;
    }
    Ok(bytes)
}

fn compile(args: &CompileArgs) -> Result<(), String> {
    let mut options = args.options.clone();
    apply_environment(&mut options)?;
    let input = read_input(&args.input)?;
    let output = synth_compiler::compile(&input, &options).map_err(|e| e.to_string())?;

    let mut files: Vec<(&str, Vec<u8>)> = vec![(args.output.as_str(), output.object)];
    if let Some(header) = &args.header {
        files.push((header, output.header.into_bytes()));
    }
    let json = args
        .report_json
        .as_ref()
        .map(|_| output.report.to_json() + "\n");
    if let (Some(path), Some(json)) = (&args.report_json, &json)
        && path != "-"
    {
        files.push((path, json.clone().into_bytes()));
    }
    write_all_or_nothing(&files)?;

    if args.report || args.listing {
        print(&output.report.to_text(args.listing))?;
    }
    if let (Some(path), Some(json)) = (&args.report_json, &json)
        && path == "-"
    {
        print(json)?;
    }
    Ok(())
}

/// A temporary-file suffix no other synth run writing next to the same file uses at once.
fn temp_suffix() -> String {
    #[cfg(not(target_arch = "wasm32"))]
    let id = std::process::id().to_string();
    // WASI has no process ids (`process::id` panics there); the wall clock's nanoseconds do.
    #[cfg(target_arch = "wasm32")]
    let id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string();
    format!(".synth-{id}.tmp")
}

/// Write every file to a temporary name next to it, then rename them all, so a failure leaves
/// no partial object behind.
fn write_all_or_nothing(files: &[(&str, Vec<u8>)]) -> Result<(), String> {
    let mut written: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |written: &[(PathBuf, &Path)]| {
        for (temp, _) in written {
            let _ = std::fs::remove_file(temp);
        }
    };
    for (path, bytes) in files {
        let target = Path::new(path);
        let mut temp_name = target.file_name().unwrap_or_default().to_os_string();
        temp_name.push(temp_suffix());
        let temp = target.with_file_name(temp_name);
        if let Err(e) = std::fs::write(&temp, bytes) {
            let _ = std::fs::remove_file(&temp);
            cleanup(&written);
            return Err(format!("cannot write `{path}`: {e}"));
        }
        written.push((temp, target));
    }
    for (i, (temp, target)) in written.iter().enumerate() {
        if let Err(e) = std::fs::rename(temp, target) {
            cleanup(&written[i..]);
            return Err(format!("cannot write `{}`: {e}", target.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_all_or_nothing;

    fn scratch(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("synth-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        dir
    }

    #[test]
    fn writes_every_file_and_leaves_no_temporaries() {
        let dir = scratch("ok");
        let object = dir.join("x.o");
        let header = dir.join("x.h");
        let files = [
            (object.to_str().unwrap(), b"obj".to_vec()),
            (header.to_str().unwrap(), b"hdr".to_vec()),
        ];
        write_all_or_nothing(&files).unwrap();
        assert_eq!(std::fs::read(&object).unwrap(), b"obj");
        assert_eq!(std::fs::read(&header).unwrap(), b"hdr");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn a_failing_file_leaves_nothing_behind() {
        let dir = scratch("fail");
        let object = dir.join("x.o");
        let unwritable = dir.join("missing-dir").join("x.h");
        let files = [
            (object.to_str().unwrap(), b"obj".to_vec()),
            (unwritable.to_str().unwrap(), b"hdr".to_vec()),
        ];
        let err = write_all_or_nothing(&files).unwrap_err();
        assert!(err.contains("missing-dir"), "{err}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "partial output left"
        );
    }
}
